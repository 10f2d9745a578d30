// Regenerates src/gen from ../../protos: the repository's descriptor image (scripts/gen_protos.py's
// descriptor_set, which resolves google/api from PyPI) fed to `buf generate` with the local protoc-gen-es.
// The one generated TypeScript: the Node client uses it, and the web view imports it as @gen/...
//   node scripts/gen.mjs [--out DIR]
// --out: default src/gen (the staleness test generates elsewhere and compares).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const pkg = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(pkg, "..", "..");
const flag = (name) => { const at = process.argv.indexOf(name); return at > 0 ? resolve(process.argv[at + 1]) : undefined; };
const out = flag("--out") ?? join(pkg, "src", "gen");
const bin = join(pkg, "node_modules", ".bin");
const python = process.env.PYTHON ?? join(root, ".venv", "bin", "python");

const tmp = mkdtempSync(join(tmpdir(), "dm-ts-gen-"));
try {
  const image = join(tmp, "protos.binpb");
  // Only the descriptor image: gen_protos.py's command line would also rewrite the Python stubs.
  const build = "import sys, pathlib; sys.path.insert(0, sys.argv[1]); from scripts.gen_protos import descriptor_set; descriptor_set(pathlib.Path(sys.argv[2]))";
  execFileSync(python, ["-c", build, root, image], { stdio: "inherit" });
  const template = join(tmp, "buf.gen.yaml");
  // Well-known types are not generated: protoc-gen-es imports them from @bufbuild/protobuf/wkt.
  execFileSync(join(bin, "buf"),
    ["generate", image, "--template", join(pkg, "buf.gen.yaml"), "--exclude-path", "google/protobuf"],
    { cwd: tmp, stdio: "inherit", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  rmSync(out, { recursive: true, force: true });
  execFileSync("cp", ["-r", join(tmp, "gen"), out]);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
