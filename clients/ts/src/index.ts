// The package's surface: every generated message and service of drift_monitoring.v1 (src/gen, made by
// `npm run gen` from protos/, never edited by hand) and createClients, the three services on one transport.
export * from "./gen/drift_monitoring/v1/drift_pb.js";
export * from "./gen/drift_monitoring/v1/experiment_pb.js";
export * from "./gen/drift_monitoring/v1/user_pb.js";
export { createClients, type Clients, type ClientsOptions, type TokenSource } from "./clients.js";
