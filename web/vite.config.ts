import { defineConfig } from "vitest/config";

export default defineConfig({
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, reportCompressedSize: true },
  test: { include: ["tests/unit/**/*.test.ts"], environment: "node" },
});
