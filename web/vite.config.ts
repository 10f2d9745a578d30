import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// The generated messages and service descriptors live once, in the TypeScript client package
// (clients/ts/src/gen, `make proto`); the page imports them as @gen/... from there.
const gen = fileURLToPath(new URL("../clients/ts/src/gen", import.meta.url));

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  // dedupe: the generated files import @bufbuild/protobuf, which must be the page's one copy (not
  // clients/ts/node_modules', which a web-only build does not even install).
  resolve: { alias: { "@gen": gen }, dedupe: ["@bufbuild/protobuf"] },
  // `npm run dev` against `make run`'s stack: API calls and /config.json go to Envoy.
  server: {
    proxy: { "^/(drift_monitoring\\.v1\\.|grpc\\.|v1/|config\\.json)": { target: "https://localhost:8443", secure: false } },
    fs: { allow: [".", gen] },
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, reportCompressedSize: true },
  test: { include: ["tests/unit/**/*.test.ts"], environment: "node" },
});
