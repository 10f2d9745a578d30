package driftmonitor

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// refreshBefore is how long before expiry an access token is replaced.
const refreshBefore = 60 * time.Second

var myTokenErrors = map[string]string{
	"invalid_token":             "the mytoken is invalid, expired or revoked: create a new one",
	"insufficient_capabilities": "the mytoken may not issue access tokens (add the AT capability)",
	"usage_restricted":          "the mytoken's restrictions forbid this use (audience, scope, IP or usage count)",
}

// MyToken is a TokenSource that exchanges a mytoken for short-lived access tokens at a MyToken server
// (discovery at SERVER/.well-known/mytoken-configuration, then grant_type=mytoken at its
// access_token_endpoint), caching each access token until shortly before it expires. A rotating
// mytoken's successor is saved under StateDir, in the same file the Python client uses, so the next run
// of either starts from it.
type MyToken struct {
	server   string
	store    string // "" keeps rotated mytokens in memory only
	http     *http.Client
	mu       sync.Mutex
	mytoken  string
	token    string
	expires  time.Time
	endpoint string
}

// NewMyToken returns a MyToken source. stateDir may be empty (rotations are then not kept across runs);
// httpClient may be nil (http.DefaultClient).
func NewMyToken(mytoken, server, stateDir string, httpClient *http.Client) *MyToken {
	if httpClient == nil {
		httpClient = http.DefaultClient
	}
	m := &MyToken{server: strings.TrimRight(server, "/"), http: httpClient, mytoken: mytoken}
	if stateDir != "" {
		sum := sha256.Sum256([]byte(mytoken))
		m.store = filepath.Join(stateDir, "mytokens", hex.EncodeToString(sum[:])[:24])
		if saved, err := os.ReadFile(m.store); err == nil && len(bytes.TrimSpace(saved)) > 0 {
			m.mytoken = string(bytes.TrimSpace(saved))
		}
	}
	return m
}

// Token returns a valid access token, exchanging the mytoken when the cached one is about to expire.
func (m *MyToken) Token(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.token == "" || time.Now().After(m.expires.Add(-refreshBefore)) {
		if err := m.exchange(ctx); err != nil {
			return "", err
		}
	}
	return m.token, nil
}

func (m *MyToken) exchange(ctx context.Context) error {
	if m.endpoint == "" {
		var config struct {
			Endpoint string `json:"access_token_endpoint"`
		}
		if err := m.call(ctx, http.MethodGet, m.server+"/.well-known/mytoken-configuration", nil, &config); err != nil {
			return err
		}
		if config.Endpoint == "" {
			return fmt.Errorf("MyToken server %s: no access_token_endpoint in its configuration", m.server)
		}
		m.endpoint = config.Endpoint
	}
	var reply struct {
		AccessToken      string  `json:"access_token"`
		ExpiresIn        float64 `json:"expires_in"`
		Error            string  `json:"error"`
		ErrorDescription string  `json:"error_description"`
		TokenUpdate      struct {
			MyToken string `json:"mytoken"`
		} `json:"token_update"`
	}
	request := map[string]string{"grant_type": "mytoken", "mytoken": m.mytoken}
	if err := m.call(ctx, http.MethodPost, m.endpoint, request, &reply); err != nil {
		return err
	}
	if reply.Error != "" || reply.AccessToken == "" {
		explanation, known := myTokenErrors[reply.Error]
		if !known {
			explanation = reply.ErrorDescription
		}
		return fmt.Errorf("MyToken %s: %s", reply.Error, explanation)
	}
	if reply.ExpiresIn <= 0 {
		reply.ExpiresIn = 300
	}
	m.token, m.expires = reply.AccessToken, time.Now().Add(time.Duration(reply.ExpiresIn*float64(time.Second)))
	if rotated := reply.TokenUpdate.MyToken; rotated != "" {
		m.mytoken = rotated
		return m.save(rotated)
	}
	return nil
}

// call sends JSON and decodes the JSON answer; error answers (4xx with an OAuth error body) decode too.
func (m *MyToken) call(ctx context.Context, method, url string, body, into any) error {
	var payload *bytes.Reader
	if body != nil {
		encoded, err := json.Marshal(body)
		if err != nil {
			return err
		}
		payload = bytes.NewReader(encoded)
	} else {
		payload = bytes.NewReader(nil)
	}
	request, err := http.NewRequestWithContext(ctx, method, url, payload)
	if err != nil {
		return err
	}
	request.Header.Set("content-type", "application/json")
	response, err := m.http.Do(request)
	if err != nil {
		return fmt.Errorf("MyToken server %s unreachable: %w", m.server, err)
	}
	defer response.Body.Close()
	if err := json.NewDecoder(response.Body).Decode(into); err != nil {
		return fmt.Errorf("MyToken server %s: HTTP %d, not JSON: %w", m.server, response.StatusCode, err)
	}
	return nil
}

// save writes the rotated mytoken atomically, readable by the owner only.
func (m *MyToken) save(mytoken string) error {
	if m.store == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(m.store), 0o700); err != nil {
		return err
	}
	tmp := fmt.Sprintf("%s.%d.tmp", m.store, os.Getpid())
	if err := os.WriteFile(tmp, []byte(mytoken), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, m.store)
}
