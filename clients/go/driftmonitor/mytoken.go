package driftmonitor

import (
	"bytes"
	"context"
	"crypto/rand"
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

// lockWait bounds the wait for another process's exchange (two requests) before giving up on the lock.
const lockWait = 30 * time.Second

// MyToken is a TokenSource that exchanges a mytoken for short-lived access tokens at a MyToken server
// (discovery at SERVER/.well-known/mytoken-configuration, then grant_type=mytoken at its
// access_token_endpoint), caching each access token until shortly before it expires.
//
// With a state directory, every process given the same mytoken shares one state file with the Python
// client: STATE/mytokens/<sha256 of the configured mytoken, 24 hex digits>, JSON {"mytoken",
// "access_token", "expires_at"} (unix seconds). Exchanges happen only under an exclusive flock(2) on
// "<state file>.lock", after re-reading the state, so a mytoken another process rotated is picked up (with
// its access token while that is valid) instead of revoking each other's. The file is written 0600 from
// creation, atomically, and fsynced with its directory. An empty or damaged file is ignored (and rewritten
// after the next exchange); a file holding only a mytoken, the earlier format, is read as that mytoken.
type MyToken struct {
	server   string
	store    string // "" keeps rotated mytokens in memory only
	http     *http.Client
	mu       sync.Mutex // the goroutines of this process; the file lock is for the processes
	mytoken  string
	token    string
	expires  time.Time
	endpoint string
}

// myTokenState is the shared state file's content.
type myTokenState struct {
	MyToken     string  `json:"mytoken"`
	AccessToken string  `json:"access_token"`
	ExpiresAt   float64 `json:"expires_at"`
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
	}
	return m
}

// Token returns a valid access token, exchanging the mytoken when the cached one is about to expire.
func (m *MyToken) Token(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fresh() {
		return m.token, nil
	}
	if m.store == "" {
		return m.token, m.exchange(ctx)
	}
	unlock, err := lockFile(ctx, m.store+".lock", lockWait)
	if err != nil {
		return "", err
	}
	defer unlock()
	m.load()
	if !m.fresh() {
		if err := m.exchange(ctx); err != nil {
			return "", err
		}
	}
	return m.token, nil
}

func (m *MyToken) fresh() bool {
	return m.token != "" && time.Now().Before(m.expires.Add(-refreshBefore))
}

// load takes up the shared state: the latest mytoken, and an access token another process got.
func (m *MyToken) load() {
	saved, err := os.ReadFile(m.store)
	if err != nil {
		return // not there yet (an unreadable one fails at the write, which names it)
	}
	saved = bytes.TrimSpace(saved)
	if len(saved) > 0 && saved[0] != '{' {
		m.mytoken = string(saved) // a bare mytoken, as saved before access tokens were shared
		return
	}
	var state myTokenState
	if err := json.Unmarshal(saved, &state); err != nil || state.MyToken == "" {
		return // empty or damaged: ignored, rewritten after the next exchange
	}
	m.mytoken = state.MyToken
	expires := time.Unix(0, int64(state.ExpiresAt*float64(time.Second)))
	if state.AccessToken != "" && expires.After(m.expires) {
		m.token, m.expires = state.AccessToken, expires
	}
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
	}
	// Saved whether or not the mytoken rotated: the other processes reuse the access token too.
	return m.save()
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

// save replaces the state file atomically: a temporary file created 0600 (O_EXCL), fsynced, renamed into
// place, then the directory fsynced, so readers never see part of it and a crash of the machine keeps it.
func (m *MyToken) save() error {
	if m.store == "" {
		return nil
	}
	state, err := json.Marshal(myTokenState{m.mytoken, m.token, float64(m.expires.UnixNano()) / float64(time.Second)})
	if err != nil {
		return err
	}
	dir := filepath.Dir(m.store)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	var random [8]byte
	_, _ = rand.Read(random[:])
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.%s.tmp", filepath.Base(m.store), hex.EncodeToString(random[:])))
	file, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = file.Write(state)
	if err == nil {
		err = file.Sync()
	}
	if closeErr := file.Close(); err == nil {
		err = closeErr
	}
	if err == nil {
		err = os.Rename(tmp, m.store)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("saving the rotated mytoken to %s: %w", m.store, err)
	}
	return syncDir(dir)
}

func syncDir(dir string) error {
	handle, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer handle.Close()
	return handle.Sync()
}
