import { defineConfig } from "vitest/config";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  // `npm run dev` against `make run`'s stack: API calls and /config.json go to Envoy.
  server: {
    proxy: { "^/(drift_monitoring\\.v1\\.|grpc\\.|v1/|config\\.json)": { target: "https://localhost:8443", secure: false } },
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, reportCompressedSize: true },
  test: { include: ["tests/unit/**/*.test.ts"], environment: "node" },
});
