// Command mockcrm serves the quick start's mock CRM (HubSpot-shaped
// contacts, companies and deals) on a loopback port.
//
//	mockcrm [-addr 127.0.0.1:0] [-url-file PATH] [-token T] [-rate-limit-every 7]
//
// It prints the base URL, and writes it to -url-file when given (the
// demo script waits for that file).
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/crmsync/crmsync/examples/quickstart/mockcrm/crm"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address (port 0: a free port)")
	urlFile := flag.String("url-file", "", "write the base URL to this file once listening")
	token := flag.String("token", envOr("QUICKSTART_TOKEN", "quickstart-demo-token"), "bearer token that requests must carry")
	every := flag.Int("rate-limit-every", 7, "answer every n-th request with 429 and Retry-After: 1 (0: never)")
	deny := flag.String("deny", "", "comma-separated object types to answer 403 (missing scopes), to try crmsync check")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mockcrm:", err)
		os.Exit(1)
	}
	o := crm.Options{Token: *token, RateLimitEvery: *every}
	if *deny != "" {
		o.Denied = strings.Split(*deny, ",")
	}
	srv := &http.Server{Handler: crm.New(crm.Default(), o), ReadHeaderTimeout: 10 * time.Second}
	url := "http://" + ln.Addr().String()
	fmt.Println("mockcrm listening on", url)
	if *urlFile != "" {
		if err := os.WriteFile(*urlFile, []byte(url+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "mockcrm:", err)
			os.Exit(1)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if err := srv.Serve(ln); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, "mockcrm:", err)
		os.Exit(1)
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
