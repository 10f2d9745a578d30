package driftmonitor

import (
	"fmt"
	"os"
	"strconv"
	"time"
)

// DefaultTimeout bounds each unary call whose context has no deadline of its own.
const DefaultTimeout = 10 * time.Second

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
}

// ConfigFromEnv reads the settings the Python client reads: DRIFT_MONITOR_URL, DRIFT_MONITOR_CA_BUNDLE,
// DRIFT_MONITOR_TOKEN and DRIFT_MONITOR_TIMEOUT (seconds). MyToken is not supported here: pass a
// TokenSource of your own for tokens that need refreshing.
func ConfigFromEnv() (Config, error) {
	config := Config{URL: os.Getenv("DRIFT_MONITOR_URL"), CABundle: os.Getenv("DRIFT_MONITOR_CA_BUNDLE")}
	if config.URL == "" {
		return config, fmt.Errorf("DRIFT_MONITOR_URL: not set (host:port of the Drift Monitoring edge)")
	}
	if token := os.Getenv("DRIFT_MONITOR_TOKEN"); token != "" {
		config.Token = StaticToken(token)
	}
	if raw := os.Getenv("DRIFT_MONITOR_TIMEOUT"); raw != "" {
		seconds, err := strconv.ParseFloat(raw, 64)
		if err != nil || seconds <= 0 {
			return config, fmt.Errorf("DRIFT_MONITOR_TIMEOUT: must be a positive number of seconds, got %q", raw)
		}
		config.Timeout = time.Duration(seconds * float64(time.Second))
	}
	return config, nil
}
