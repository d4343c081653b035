package httpsrc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"

	"github.com/crmsync/crmsync/engine/config"
)

func init() {
	registerAuth("aws_sigv4", "AWS Signature Version 4 over every request (its body hashed), for the service's signing name in the region.", compileSigV4)
}

// sigv4Config is the keys of type aws_sigv4.
type sigv4Config struct {
	Service         string        `yaml:"service" desc:"aws_sigv4: the signing name of the AWS service (athena, execute-api, es)."`
	Region          string        `yaml:"region" desc:"aws_sigv4: the AWS region the requests go to (us-east-1)."`
	AccessKeyID     config.Secret `yaml:"access_key_id" desc:"aws_sigv4: the access key id (AKIA…, or ASIA… with a session_token)."`
	SecretAccessKey config.Secret `yaml:"secret_access_key" desc:"aws_sigv4: the secret access key. Never printed."`
	SessionToken    config.Secret `yaml:"session_token" desc:"aws_sigv4: the session token of temporary credentials (sent as X-Amz-Security-Token)."`
}

// sigv4Auth signs every request with AWS Signature Version 4 (the signer
// of aws-sdk-go-v2, not a hand-made one): X-Amz-Date, X-Amz-Security-Token
// with temporary credentials, and an Authorization header over the
// method, path, query, headers and the SHA-256 of the actual body. apply
// runs for every attempt, so a retry is signed afresh (a new date).
type sigv4Auth struct {
	creds           aws.Credentials
	service, region string
	signer          *v4.Signer
	now             func() time.Time // time.Now; a fixed time in tests
}

// signingName is what a service or region name may be: lower-case words
// with dashes (athena, execute-api, us-east-1).
var signingName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

func compileSigV4(a *sigv4Config, c *problems, at string) (authMaker, []string) {
	if a.Service == "" {
		c.errf(at+"/service", "missing-setting", "auth type aws_sigv4 needs service: the signing name of the AWS service (athena, execute-api, es)")
	} else if !signingName.MatchString(a.Service) {
		c.errf(at+"/service", "invalid-value", "service %q is not an AWS signing name: want lower-case letters, digits and dashes (athena)", a.Service)
	}
	if a.Region == "" {
		c.errf(at+"/region", "missing-setting", "auth type aws_sigv4 needs region (us-east-1; write it as ${env:AWS_REGION})")
	} else if !signingName.MatchString(a.Region) {
		c.errf(at+"/region", "invalid-value", "region %q is not an AWS region name such as us-east-1", a.Region)
	}
	if !a.AccessKeyID.IsSet() {
		c.errf(at+"/access_key_id", "missing-setting", "auth type aws_sigv4 needs access_key_id (write it as ${env:AWS_ACCESS_KEY_ID})")
	}
	if !a.SecretAccessKey.IsSet() {
		c.errf(at+"/secret_access_key", "missing-setting", "auth type aws_sigv4 needs secret_access_key (write it as ${env:AWS_SECRET_ACCESS_KEY} or ${file:PATH})")
	}
	s := &sigv4Auth{
		creds: aws.Credentials{AccessKeyID: a.AccessKeyID.Reveal(), SecretAccessKey: a.SecretAccessKey.Reveal(),
			SessionToken: a.SessionToken.Reveal(), Source: "crmsync pipeline"},
		service: a.Service, region: a.Region,
		signer: v4.NewSigner(), now: time.Now,
	}
	// X-Amz-Credential and X-Amz-Signature only appear in presigned URLs,
	// which crmsync does not make; they are listed for next links that
	// carry one back.
	return func(*sourceState, *openEnv) authenticator { return s }, []string{"X-Amz-Security-Token", "X-Amz-Signature", "X-Amz-Credential"}
}

// emptySHA256 is the payload hash of a request without a body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

func (s *sigv4Auth) apply(ctx context.Context, req *http.Request) error {
	hash, err := payloadHash(req)
	if err != nil {
		return err
	}
	// A header left from an earlier signing of the same request would be
	// signed into this one.
	req.Header.Del("Authorization")
	req.Header.Del("X-Amz-Date")
	req.Header.Del("X-Amz-Security-Token")
	if err := s.signer.SignHTTP(ctx, s.creds, req, hash, s.service, s.region, s.now()); err != nil {
		return fmt.Errorf("signing the request (aws_sigv4): %w", err)
	}
	return nil
}

// payloadHash is the hex SHA-256 of the request's body, read through
// GetBody so that the body itself is left for the transport.
func payloadHash(req *http.Request) (string, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return emptySHA256, nil
	}
	if req.GetBody == nil {
		return "", fmt.Errorf("signing the request (aws_sigv4): its body cannot be read twice")
	}
	rd, err := req.GetBody()
	if err != nil {
		return "", fmt.Errorf("signing the request (aws_sigv4): %w", err)
	}
	defer rd.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rd); err != nil {
		return "", fmt.Errorf("signing the request (aws_sigv4): reading the body: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var _ authenticator = (*sigv4Auth)(nil)
