package driftmonitor_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"example.org/drift-monitoring/go/driftmonitor"
	pb "example.org/drift-monitoring/go/driftmonitoringv1"
)

// myTokenServer speaks the MyToken protocol: discovery, then grant_type=mytoken exchanges. Every
// exchange rotates the mytoken (the old one stops working), as a rotating mytoken does.
type myTokenServer struct {
	*httptest.Server
	mu          sync.Mutex
	current     string
	exchanges   int
	expiresIn   int
	accessToken func(n int) string
}

func newMyTokenServer(t *testing.T, first string) *myTokenServer {
	return startMyTokenServer(t, first, true)
}

// startMyTokenServer serves over TLS (trusted by s.Client()) or, for client processes, plain HTTP.
func startMyTokenServer(t *testing.T, first string, tls bool) *myTokenServer {
	s := &myTokenServer{current: first, expiresIn: 3600, accessToken: func(n int) string { return fmt.Sprintf("at-%d", n) }}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/mytoken-configuration", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]string{"issuer": s.URL, "access_token_endpoint": s.URL + "/api/v0/token/access"})
	})
	mux.HandleFunc("POST /api/v0/token/access", func(w http.ResponseWriter, r *http.Request) {
		var request map[string]string
		_ = json.NewDecoder(r.Body).Decode(&request)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("content-type", "application/json")
		if request["grant_type"] != "mytoken" || request["mytoken"] != s.current {
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_token", "error_description": "unknown mytoken"})
			return
		}
		s.exchanges++
		s.current = fmt.Sprintf("mt-%d", s.exchanges)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": s.accessToken(s.exchanges), "token_type": "Bearer", "expires_in": s.expiresIn,
			"token_update": map[string]string{"mytoken": s.current},
		})
	})
	s.Server = httptest.NewUnstartedServer(mux)
	if tls {
		s.StartTLS()
	} else {
		s.Start()
	}
	t.Cleanup(s.Close)
	return s
}

// storeName is where the Python client keeps a mytoken's state too: sha256 of the configured mytoken,
// 24 hex digits.
func storeName(mytoken string) string {
	sum := sha256.Sum256([]byte(mytoken))
	return hex.EncodeToString(sum[:])[:24]
}

func TestMyTokenExchangesCachesAndKeepsTheRotatedToken(t *testing.T) {
	server := newMyTokenServer(t, "mt-0")
	state := t.TempDir()
	source := driftmonitor.NewMyToken("mt-0", server.URL, state, server.Client())
	ctx := context.Background()
	for range 2 {
		if token, err := source.Token(ctx); err != nil || token != "at-1" {
			t.Fatalf("token %q, %v", token, err)
		}
	}
	if server.exchanges != 1 {
		t.Errorf("%d exchanges for two calls within the token's lifetime, want 1", server.exchanges)
	}
	store := filepath.Join(state, "mytokens", storeName("mt-0"))
	saved, err := os.ReadFile(store)
	var shared struct {
		MyToken     string  `json:"mytoken"`
		AccessToken string  `json:"access_token"`
		ExpiresAt   float64 `json:"expires_at"`
	}
	if err != nil || json.Unmarshal(saved, &shared) != nil || shared.MyToken != "mt-1" || shared.AccessToken != "at-1" || shared.ExpiresAt < float64(time.Now().Unix()+3000) {
		t.Fatalf("saved %q, %v", saved, err)
	}
	if info, _ := os.Stat(store); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	// The next run starts from the saved state: the access token is still valid, so no exchange.
	next := driftmonitor.NewMyToken("mt-0", server.URL, state, server.Client())
	if token, err := next.Token(ctx); err != nil || token != "at-1" || server.exchanges != 1 {
		t.Errorf("next run: token %q, %v, %d exchanges", token, err, server.exchanges)
	}
}

func TestMyTokenStateFileBareEmptyOrDamaged(t *testing.T) {
	state := t.TempDir()
	store := filepath.Join(state, "mytokens", storeName("mt-0"))
	if err := os.MkdirAll(filepath.Dir(store), 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(content string) {
		if err := os.WriteFile(store, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	token := func(server *myTokenServer) (string, error) {
		return driftmonitor.NewMyToken("mt-0", server.URL, state, server.Client()).Token(context.Background())
	}
	// The earlier format, the bare mytoken, is read as the mytoken to use.
	server := newMyTokenServer(t, "mt-7")
	write("mt-7\n")
	if got, err := token(server); err != nil || got != "at-1" {
		t.Errorf("bare mytoken: %q, %v", got, err)
	}
	// An empty or torn file is ignored: the configured mytoken is tried, refused here (rotated away).
	for _, content := range []string{"", `{"mytoken": "mt-`} {
		write(content)
		if _, err := token(server); err == nil || !strings.Contains(err.Error(), "invalid_token") {
			t.Errorf("state %q: %v, want invalid_token", content, err)
		}
	}
	// Where the configured mytoken is still valid, the exchange succeeds and repairs the file.
	fresh := newMyTokenServer(t, "mt-0")
	if got, err := token(fresh); err != nil || got != "at-1" {
		t.Errorf("torn file, valid mytoken: %q, %v", got, err)
	}
	if saved, _ := os.ReadFile(store); !strings.Contains(string(saved), `"mytoken":"mt-1"`) {
		t.Errorf("not repaired: %s", saved)
	}
}

func TestMyTokenRefreshesShortlyBeforeExpiry(t *testing.T) {
	server := newMyTokenServer(t, "mt-0")
	server.expiresIn = 30 // inside the refresh margin: every call exchanges
	source := driftmonitor.NewMyToken("mt-0", server.URL, "", server.Client())
	first, _ := source.Token(context.Background())
	second, err := source.Token(context.Background())
	if err != nil || first == second || server.exchanges != 2 {
		t.Errorf("tokens %q then %q (%v), %d exchanges", first, second, err, server.exchanges)
	}
}

func TestMyTokenErrorsSayWhatToDo(t *testing.T) {
	server := newMyTokenServer(t, "mt-0")
	_, err := driftmonitor.NewMyToken("revoked", server.URL, "", server.Client()).Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid_token") || !strings.Contains(err.Error(), "create a new one") {
		t.Errorf("error %v", err)
	}
	_, err = driftmonitor.NewMyToken("mt-0", "https://127.0.0.1:1", "", server.Client()).Token(context.Background())
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("unreachable server: %v", err)
	}
}

func TestMyTokenThroughTheEdge(t *testing.T) {
	config := stackConfig(t)
	real, _ := config.Token.Token(context.Background())
	server := newMyTokenServer(t, "mt-0")
	server.accessToken = func(int) string { return real } // the MyToken server hands out the issuer's token
	config.Token = driftmonitor.NewMyToken("mt-0", server.URL, t.TempDir(), server.Client())
	user, err := dial(t, config).Users.RegisterUser(context.Background(), &pb.RegisterUserRequest{AcceptTerms: true})
	if err != nil || user.GetSubject() != "manager" {
		t.Errorf("user %v, %v", user, err)
	}
}

func TestConfigFromEnvWithMyToken(t *testing.T) {
	t.Setenv("DRIFT_MONITOR_URL", "drift.example.org:443")
	t.Setenv("DRIFT_MONITOR_TOKEN", "")
	t.Setenv("DRIFT_MONITOR_CA_BUNDLE", "")
	t.Setenv("DRIFT_MONITOR_MYTOKEN", "mt-0")
	t.Setenv("MYTOKEN_SERVER", "")
	if _, err := driftmonitor.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "MYTOKEN_SERVER") {
		t.Errorf("no server: %v", err)
	}
	t.Setenv("MYTOKEN_SERVER", "https://mytoken.example.org")
	config, err := driftmonitor.ConfigFromEnv()
	if _, ok := config.Token.(*driftmonitor.MyToken); err != nil || !ok {
		t.Errorf("token source %T, %v", config.Token, err)
	}
	t.Setenv("DRIFT_MONITOR_TOKEN", "abc")
	if _, err := driftmonitor.ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("both: %v", err)
	}
}
