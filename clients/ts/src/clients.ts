// createClients: the Experiment, Drift and User services with a bearer token on every call. On Node the
// default transport is gRPC (always HTTP/2 in connect-node) (what Envoy routes to the server); browsers pass their own transport
// (connect-web's createGrpcWebTransport), which is why the transport is an option and not fixed.
import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { DriftService } from "./gen/drift_monitoring/v1/drift_pb.js";
import { ExperimentService } from "./gen/drift_monitoring/v1/experiment_pb.js";
import { UserService } from "./gen/drift_monitoring/v1/user_pb.js";

/** A token, or a function asked before each call (tokens expire; the function can refresh). */
export type TokenSource = string | (() => string | Promise<string>);

export interface ClientsOptions {
  token?: TokenSource;
  /** Default: gRPC over HTTP/2 to baseUrl. TLS trusts Node's CAs plus NODE_EXTRA_CA_CERTS (e.g. the dev CA). */
  transport?: Transport;
}

export interface Clients {
  experiments: Client<typeof ExperimentService>;
  drifts: Client<typeof DriftService>;
  users: Client<typeof UserService>;
}

export function createClients(baseUrl: string, { token, transport }: ClientsOptions = {}): Clients {
  const chosen = withToken(transport ?? createGrpcTransport({ baseUrl }), token);
  return {
    experiments: createClient(ExperimentService, chosen),
    drifts: createClient(DriftService, chosen),
    users: createClient(UserService, chosen),
  };
}

/** The transport with an authorization header on every call; wrapping (not an interceptor) works for any transport. */
function withToken(transport: Transport, token: TokenSource | undefined): Transport {
  if (token === undefined) return transport;
  const header = async (init: ConstructorParameters<typeof Headers>[0]) => {
    const headers = new Headers(init);
    headers.set("authorization", `Bearer ${typeof token === "string" ? token : await token()}`);
    return headers;
  };
  return {
    unary: async (method, signal, timeoutMs, init, input, contextValues) =>
      transport.unary(method, signal, timeoutMs, await header(init), input, contextValues),
    stream: async (method, signal, timeoutMs, init, input, contextValues) =>
      transport.stream(method, signal, timeoutMs, await header(init), input, contextValues),
  };
}
