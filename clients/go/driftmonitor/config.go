package driftmonitor

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// DefaultTimeout bounds each unary call whose context has no deadline of its own.
const DefaultTimeout = 10 * time.Second

// DefaultHeartbeat is how often Client.Run renews its run's lease; the lease lasts leaseBeats of them,
// after which the server marks the run LOST (docs/leases.md).
const DefaultHeartbeat = 30 * time.Second

const leaseBeats = 3

// Config says where the API is and who calls it.
type Config struct {
	// URL is host:port of the edge, e.g. "drift.example.org:443".
	URL string
	// CABundle is a PEM file of CA certificates to trust instead of the system's (a private deployment,
	// or the dev stack's .run/certs/ca.pem).
	CABundle string
	// Token gives the bearer token for each call; nil calls anonymously (public reads only).
	Token TokenSource
	// Timeout bounds each unary call without a deadline; zero means DefaultTimeout.
	Timeout time.Duration
	// Heartbeat is the interval of Run's lease renewals; zero means DefaultHeartbeat, negative means
	// no lease (the run is never marked LOST). The lease (three beats) must be 1 s to 24 h.
	Heartbeat time.Duration
}

// ConfigFromEnv reads the settings the Python client reads: DRIFT_MONITOR_URL, DRIFT_MONITOR_CA_BUNDLE,
// DRIFT_MONITOR_TIMEOUT (seconds), DRIFT_MONITOR_HEARTBEAT (seconds; 0 = no lease), and either DRIFT_MONITOR_TOKEN (an access token) or
// DRIFT_MONITOR_MYTOKEN with MYTOKEN_SERVER (rotated mytokens kept under DRIFT_MONITOR_STATE_DIR,
// default $XDG_STATE_HOME/drift-monitor or ~/.local/state/drift-monitor, as in Python).
func ConfigFromEnv() (Config, error) {
	config := Config{URL: os.Getenv("DRIFT_MONITOR_URL"), CABundle: os.Getenv("DRIFT_MONITOR_CA_BUNDLE")}
	if config.URL == "" {
		return config, fmt.Errorf("DRIFT_MONITOR_URL: not set (host:port of the Drift Monitoring edge)")
	}
	token, mytoken := os.Getenv("DRIFT_MONITOR_TOKEN"), os.Getenv("DRIFT_MONITOR_MYTOKEN")
	switch {
	case token != "" && mytoken != "":
		return config, fmt.Errorf("set DRIFT_MONITOR_TOKEN or DRIFT_MONITOR_MYTOKEN, not both")
	case token != "":
		config.Token = StaticToken(token)
	case mytoken != "":
		server := os.Getenv("MYTOKEN_SERVER")
		if server == "" {
			return config, fmt.Errorf("DRIFT_MONITOR_MYTOKEN needs MYTOKEN_SERVER, e.g. https://mytoken.data.kit.edu")
		}
		trust, err := tlsConfig(config.CABundle)
		if err != nil {
			return config, err
		}
		httpClient := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: trust, Proxy: http.ProxyFromEnvironment}}
		config.Token = NewMyToken(mytoken, server, stateDir(), httpClient)
	}
	if raw := os.Getenv("DRIFT_MONITOR_TIMEOUT"); raw != "" {
		seconds, err := strconv.ParseFloat(raw, 64)
		if err != nil || seconds <= 0 {
			return config, fmt.Errorf("DRIFT_MONITOR_TIMEOUT: must be a positive number of seconds, got %q", raw)
		}
		config.Timeout = time.Duration(seconds * float64(time.Second))
	}
	if raw := os.Getenv("DRIFT_MONITOR_HEARTBEAT"); raw != "" {
		seconds, err := strconv.ParseFloat(raw, 64)
		if err != nil || seconds < 0 || (seconds > 0 && (seconds < 1.0/3 || seconds > 28800)) {
			return config, fmt.Errorf("DRIFT_MONITOR_HEARTBEAT: must be 0 (no lease) or 1/3 to 28800 seconds, got %q", raw)
		}
		config.Heartbeat = time.Duration(seconds * float64(time.Second))
		if seconds == 0 {
			config.Heartbeat = -1
		}
	}
	return config, nil
}

func stateDir() string {
	if dir := os.Getenv("DRIFT_MONITOR_STATE_DIR"); dir != "" {
		return dir
	}
	if base := os.Getenv("XDG_STATE_HOME"); base != "" {
		return filepath.Join(base, "drift-monitor")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "" // rotations then live in memory only
	}
	return filepath.Join(home, ".local", "state", "drift-monitor")
}
