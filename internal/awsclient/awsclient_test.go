package awsclient

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestValidateEndpoint(t *testing.T) {
	for _, good := range []string{"http://127.0.0.1:5000", "https://ec2.us-west-2.amazonaws.com"} {
		if err := ValidateEndpoint(good); err != nil {
			t.Errorf("ValidateEndpoint(%q) = %v", good, err)
		}
	}
	for _, bad := range []string{"", "127.0.0.1:5000", "ftp://host", "http://", "not a url"} {
		if err := ValidateEndpoint(bad); err == nil || !strings.Contains(err.Error(), "not an endpoint URL") {
			t.Errorf("ValidateEndpoint(%q) = %v; want not an endpoint URL", bad, err)
		}
	}
}

// stsServer answers GetCallerIdentity and counts requests.
func stsServer(t *testing.T, status int) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		if status != http.StatusOK {
			_, _ = w.Write([]byte(`<ErrorResponse><Error><Type>Receiver</Type><Code>ServiceUnavailable</Code><Message>try later</Message></Error></ErrorResponse>`))
			return
		}
		_, _ = w.Write([]byte(`<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/t</Arn><UserId>AIDA</UserId><Account>123456789012</Account></GetCallerIdentityResult></GetCallerIdentityResponse>`))
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

func TestSettings_endpointAndRetries(t *testing.T) {
	t.Setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1") // must lose against the provider setting
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	ok, _ := stsServer(t, http.StatusOK)
	s := Settings{Endpoints: Endpoints{STS: ok.URL}, MaxRetries: 2}
	cfg, err := s.Config(context.Background(), Credentials{Region: "us-west-2", AccessKey: "AKID", SecretKey: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.STS(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	if err != nil {
		t.Fatalf("GetCallerIdentity through the configured endpoint: %v", err)
	}
	if got := *out.Account; got != "123456789012" {
		t.Errorf("Account = %q", got)
	}

	failing, calls := stsServer(t, http.StatusServiceUnavailable)
	s = Settings{Endpoints: Endpoints{STS: failing.URL}, MaxRetries: 2}
	cfg, err = s.Config(context.Background(), Credentials{Region: "us-west-2", AccessKey: "AKID", SecretKey: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.STS(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err == nil {
		t.Fatal("GetCallerIdentity against a 503 server succeeded")
	}
	if got := calls.Load(); got != 3 {
		t.Errorf("requests with max_retries = 2: %d; want 3 (one try, two retries)", got)
	}
}

func TestSettings_honoursEnvironmentEndpoint(t *testing.T) {
	ok, calls := stsServer(t, http.StatusOK)
	t.Setenv("AWS_ENDPOINT_URL_STS", ok.URL)
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	s := Settings{MaxRetries: 0}
	cfg, err := s.Config(context.Background(), Credentials{AccessKey: "AKID", SecretKey: "secret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.STS(cfg).GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{}); err != nil {
		t.Fatalf("GetCallerIdentity through AWS_ENDPOINT_URL_STS: %v", err)
	}
	if calls.Load() != 1 {
		t.Errorf("the AWS_ENDPOINT_URL_STS server saw %d requests; want 1", calls.Load())
	}
}

func TestCallCounter(t *testing.T) {
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	failing, _ := stsServer(t, http.StatusServiceUnavailable)
	ok, _ := stsServer(t, http.StatusOK)
	counter := NewCallCounter()
	for _, url := range []string{failing.URL, ok.URL} {
		s := Settings{Endpoints: Endpoints{STS: url}, MaxRetries: 1}
		cfg, err := s.Config(context.Background(), Credentials{Region: "us-west-2", AccessKey: "AKID", SecretKey: "secret"})
		if err != nil {
			t.Fatal(err)
		}
		client := sts.NewFromConfig(cfg, func(o *sts.Options) {
			o.BaseEndpoint = &url
			o.APIOptions = append(o.APIOptions, counter.apiOption)
		})
		_, _ = client.GetCallerIdentity(context.Background(), &sts.GetCallerIdentityInput{})
	}
	if got := counter.Calls()["GetCallerIdentity"]; got != 2 {
		t.Errorf("calls = %d; want 2", got)
	}
	if got := counter.Attempts()["GetCallerIdentity"]; got != 3 {
		t.Errorf("attempts = %d; want 3 (2 against the failing server, 1 against the good one)", got)
	}
	counter.Reset()
	if counter.Total() != 0 {
		t.Error("Reset left counts")
	}
}
