package exprfn

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"
	"time"
)

// Signing: request signatures computed per request (auth type signed).
// hmac_sha256, hmac_sha1 and base64_decode give bytes ([]byte), which
// base64 and hex encode; anywhere else bytes read as text.
func init() {
	register("hmac_sha256", hmacFn("hmac_sha256", sha256.New), new(func(any, any) any))
	register("hmac_sha1", hmacFn("hmac_sha1", sha1.New), new(func(any, any) any))
	register("base64", base64Fn, new(func(any) any))
	register("base64_decode", base64DecodeFn, new(func(any) any))
	register("hex", hexFn, new(func(any) any))
	register("unix_now", unixNowFn, new(func() int64))
}

// bytesArg is the bytes of an argument: bytes as they are, text as its
// UTF-8, numbers in plain notation; nil stays nil.
func bytesArg(fn string, v any) (b []byte, isNil bool, err error) {
	if x, ok := v.([]byte); ok {
		return x, false, nil
	}
	s, isNil, err := textArg(fn, v)
	return []byte(s), isNil, err
}

func hmacFn(name string, h func() hash.Hash) func(args ...any) (any, error) {
	return func(args ...any) (any, error) {
		key, isNil, err := bytesArg(name, args[0])
		if isNil || err != nil {
			return nil, err
		}
		msg, isNil, err := bytesArg(name, args[1])
		if isNil || err != nil {
			return nil, err
		}
		m := hmac.New(h, key)
		m.Write(msg)
		return m.Sum(nil), nil
	}
}

func base64Fn(args ...any) (any, error) {
	b, isNil, err := bytesArg("base64", args[0])
	if isNil || err != nil {
		return nil, err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// base64DecodeFn reads standard or URL-safe base64, padded or not.
func base64DecodeFn(args ...any) (any, error) {
	s, isNil, err := textArg("base64_decode", args[0])
	if isNil || err != nil {
		return nil, err
	}
	s = strings.TrimSpace(s)
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if !strings.HasSuffix(s, "=") && len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	b, err := enc.DecodeString(s)
	if err != nil {
		// Never quote the text: it is usually a secret.
		return nil, fmt.Errorf("base64_decode: the text (%d characters) is not base64", len(s))
	}
	return b, nil
}

func hexFn(args ...any) (any, error) {
	b, isNil, err := bytesArg("hex", args[0])
	if isNil || err != nil {
		return nil, err
	}
	return hex.EncodeToString(b), nil
}

func unixNowFn(...any) (any, error) { return time.Now().Unix(), nil }
