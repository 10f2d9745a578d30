// The generated services over gRPC-web on our own origin, with the signed-in user's token.
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import type { Auth } from "./auth/oidc";
import { AlertService } from "@gen/drift_monitoring/v1/alert_pb";
import { AuditService } from "@gen/drift_monitoring/v1/audit_pb";
import { DriftService } from "@gen/drift_monitoring/v1/drift_pb";
import { ExperimentService } from "@gen/drift_monitoring/v1/experiment_pb";
import { UserService } from "@gen/drift_monitoring/v1/user_pb";
import { BadRequestSchema } from "@gen/google/rpc/error_details_pb";

export interface Api {
  experiments: Client<typeof ExperimentService>;
  drifts: Client<typeof DriftService>;
  users: Client<typeof UserService>;
  audit: Client<typeof AuditService>;
  alerts: Client<typeof AlertService>;
}

export function makeApi(auth: Auth, baseUrl = location.origin): Api {
  // An expired token (a laptop waking up) is refreshed once and the call repeated; streams just reconnect.
  const bearer: Interceptor = (next) => async (request) => {
    const token = await auth.token();
    if (token) request.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(request);
    } catch (error) {
      if (!token || request.stream || ConnectError.from(error).code !== Code.Unauthenticated) throw error;
      const session = await auth.refresh();
      if (!session) throw error;
      request.header.set("authorization", `Bearer ${session.accessToken}`);
      return await next(request);
    }
  };
  const transport = createGrpcWebTransport({ baseUrl, interceptors: [bearer] });
  return {
    experiments: createClient(ExperimentService, transport),
    drifts: createClient(DriftService, transport),
    users: createClient(UserService, transport),
    audit: createClient(AuditService, transport),
    alerts: createClient(AlertService, transport),
  };
}

/** One line for people: the status and the server's message, which starts with the field to fix. */
export function describeError(raw: unknown): string {
  const error = ConnectError.from(raw);
  const fields = error.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations.map((v) => v.field));
  const code = Code[error.code].replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
  const extra = fields.length && !error.rawMessage.startsWith(fields[0]) ? ` (${fields.join(", ")})` : "";
  return `${code}: ${error.rawMessage}${extra}`;
}

export function errorCode(raw: unknown): Code {
  return ConnectError.from(raw).code;
}
