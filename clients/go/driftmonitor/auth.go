package driftmonitor

import (
	"context"

	"google.golang.org/grpc/credentials"
)

// TokenSource gives the access token to send with the next call. It is asked before every call, so an
// implementation can refresh tokens that expire; an empty token sends none (anonymous).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
}

// StaticToken is a token that never changes, e.g. from DRIFT_MONITOR_TOKEN.
type StaticToken string

// Token returns the token itself.
func (t StaticToken) Token(context.Context) (string, error) { return string(t), nil }

// TokenFunc adapts a function to TokenSource.
type TokenFunc func(ctx context.Context) (string, error)

// Token calls the function.
func (f TokenFunc) Token(ctx context.Context) (string, error) { return f(ctx) }

// bearer sends the token as per-RPC credentials, which gRPC refuses to send over plaintext.
type bearer struct{ source TokenSource }

func (b bearer) GetRequestMetadata(ctx context.Context, _ ...string) (map[string]string, error) {
	token, err := b.source.Token(ctx)
	if err != nil || token == "" {
		return nil, err
	}
	return map[string]string{"authorization": "Bearer " + token}, nil
}

func (bearer) RequireTransportSecurity() bool { return true }

var _ credentials.PerRPCCredentials = bearer{}
