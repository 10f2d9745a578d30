package driftmonitor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	pb "example.org/drift-monitoring/go/driftmonitoringv1"
)

// Drift creation is idempotent on request_id and registration on the caller, so UNAVAILABLE (Envoy
// restarting, a server draining) is retried for those services; experiment writes are not retried.
const serviceConfig = `{"methodConfig": [{
	"name": [{"service": "drift_monitoring.v1.DriftService"}, {"service": "drift_monitoring.v1.UserService"}],
	"retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.1s", "maxBackoff": "2s", "backoffMultiplier": 2,
	                "retryableStatusCodes": ["UNAVAILABLE"]}}]}`

// Client is a connection to one Drift Monitoring edge. The generated stubs are exported for every RPC
// the helpers do not cover. Close it when done.
type Client struct {
	Experiments pb.ExperimentServiceClient
	Drifts      pb.DriftServiceClient
	Users       pb.UserServiceClient
	conn        *grpc.ClientConn
	heartbeat   time.Duration // negative: runs carry no lease

	mu            sync.Mutex
	experimentIDs map[string]string // name -> id, so a job loop looks each experiment up once
}

// Dial prepares a client; the connection is made on the first call.
func Dial(config Config) (*Client, error) {
	trust, err := tlsConfig(config.CABundle)
	if err != nil {
		return nil, err
	}
	timeout := config.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	options := []grpc.DialOption{
		grpc.WithTransportCredentials(credentials.NewTLS(trust)),
		grpc.WithDefaultServiceConfig(serviceConfig),
		grpc.WithUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			if _, ok := ctx.Deadline(); !ok {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, timeout)
				defer cancel()
			}
			return invoker(ctx, method, req, reply, cc, opts...)
		}),
	}
	if config.Token != nil {
		options = append(options, grpc.WithPerRPCCredentials(bearer{config.Token}))
	}
	conn, err := grpc.NewClient(config.URL, options...)
	if err != nil {
		return nil, err
	}
	heartbeat := config.Heartbeat
	if heartbeat == 0 {
		heartbeat = DefaultHeartbeat
	}
	return &Client{
		Experiments: pb.NewExperimentServiceClient(conn),
		Drifts:      pb.NewDriftServiceClient(conn),
		Users:       pb.NewUserServiceClient(conn),
		conn:        conn,
		heartbeat:   heartbeat,
	}, nil
}

// tlsConfig trusts the CA certificates in caBundle (a PEM file), or the system's when it is empty.
func tlsConfig(caBundle string) (*tls.Config, error) {
	config := &tls.Config{MinVersion: tls.VersionTLS12}
	if caBundle == "" {
		return config, nil
	}
	pem, err := os.ReadFile(caBundle)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	config.RootCAs = x509.NewCertPool()
	if !config.RootCAs.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA bundle %s: no PEM certificate in it", caBundle)
	}
	return config, nil
}

// Close ends the connection; calls after it fail.
func (c *Client) Close() error { return c.conn.Close() }

// Register registers the caller, accepting the terms of use; writes need it. Registering again is harmless.
func (c *Client) Register(ctx context.Context) (*pb.User, error) {
	return c.Users.RegisterUser(ctx, &pb.RegisterUserRequest{AcceptTerms: true})
}

// CreateExperiment creates a private experiment owned by the caller.
func (c *Client) CreateExperiment(ctx context.Context, name, description string) (*pb.Experiment, error) {
	return c.Experiments.CreateExperiment(ctx, &pb.CreateExperimentRequest{Experiment: &pb.Experiment{Name: name, Description: description}})
}

// FindExperiment returns the experiment named exactly name (LookupExperiment: no filter text, so no
// "*" or quote in a name is ever read as a pattern), or a NOT_FOUND error when there is none the caller
// may read.
func (c *Client) FindExperiment(ctx context.Context, name string) (*pb.Experiment, error) {
	found, err := c.Experiments.LookupExperiment(ctx, &pb.LookupExperimentRequest{Name: name})
	if err != nil {
		return nil, err
	}
	if found.GetName() != name { // never record into another experiment, whatever answered
		return nil, status.Errorf(codes.Internal, "asked for experiment %s, the server answered with %s", strconv.Quote(name), strconv.Quote(found.GetName()))
	}
	return found, nil
}

// experimentID is FindExperiment(name).Id, remembered for the Client's lifetime.
func (c *Client) experimentID(ctx context.Context, name string) (string, error) {
	c.mu.Lock()
	id, known := c.experimentIDs[name]
	c.mu.Unlock()
	if known {
		return id, nil
	}
	found, err := c.FindExperiment(ctx, name)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.experimentIDs == nil {
		c.experimentIDs = map[string]string{}
	}
	c.experimentIDs[name] = found.GetId()
	return found.GetId(), nil
}

// forgetExperiment drops a remembered id that turned out stale (the experiment was deleted).
func (c *Client) forgetExperiment(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.experimentIDs, name)
}

// ListDrifts returns every drift of an experiment matching filter (empty: all), following the pages.
func (c *Client) ListDrifts(ctx context.Context, experimentID, filter, orderBy string) ([]*pb.Drift, error) {
	request := &pb.ListDriftsRequest{ExperimentId: experimentID, Filter: filter, OrderBy: orderBy, PageSize: 500}
	var drifts []*pb.Drift
	for {
		page, err := c.Drifts.ListDrifts(ctx, request)
		if err != nil {
			return drifts, err
		}
		drifts = append(drifts, page.GetDrifts()...)
		if page.GetNextPageToken() == "" {
			return drifts, nil
		}
		request.PageToken = page.GetNextPageToken()
	}
}

// Reason is the google.rpc.ErrorInfo reason of an API error (such as "USER_NOT_REGISTERED"), or "".
func Reason(err error) string {
	var withStatus interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &withStatus) {
		return ""
	}
	for _, detail := range withStatus.GRPCStatus().Details() {
		if info, ok := detail.(*errdetails.ErrorInfo); ok {
			return info.GetReason()
		}
	}
	return ""
}
