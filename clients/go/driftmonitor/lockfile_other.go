//go:build !unix

package driftmonitor

import (
	"context"
	"time"
)

// lockFile is a no-op where flock(2) does not exist: processes sharing one rotating mytoken there may
// revoke each other's (give each its own state directory).
func lockFile(context.Context, string, time.Duration) (func(), error) { return func() {}, nil }
