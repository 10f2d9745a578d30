// Regenerates src/gen from ../protos: the repository's descriptor image (scripts/gen_protos.py's
// descriptor_set, which resolves google/api from PyPI) fed to `buf generate` with the local protoc-gen-es.
//   node scripts/gen.mjs [--out DIR]    (default src/gen; the staleness test generates elsewhere and compares)
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const root = resolve(web, "..");
const outFlag = process.argv.indexOf("--out");
const out = outFlag > 0 ? resolve(process.argv[outFlag + 1]) : join(web, "src", "gen");
const python = process.env.PYTHON ?? join(root, ".venv", "bin", "python");

const tmp = mkdtempSync(join(tmpdir(), "dm-web-gen-"));
try {
  const image = join(tmp, "protos.binpb");
  // Only the descriptor image: gen_protos.py's command line would also rewrite the Python stubs.
  const build = "import sys, pathlib; sys.path.insert(0, sys.argv[1]); from scripts.gen_protos import descriptor_set; descriptor_set(pathlib.Path(sys.argv[2]))";
  execFileSync(python, ["-c", build, root, image], { stdio: "inherit" });
  const template = join(tmp, "buf.gen.yaml");
  // Well-known types are not generated: protoc-gen-es imports them from @bufbuild/protobuf/wkt.
  execFileSync(join(web, "node_modules", ".bin", "buf"),
    ["generate", image, "--template", join(web, "buf.gen.yaml"), "--exclude-path", "google/protobuf"],
    { cwd: tmp, stdio: "inherit", env: { ...process.env, PATH: `${join(web, "node_modules", ".bin")}:${process.env.PATH}` } });
  rmSync(out, { recursive: true, force: true });
  execFileSync("cp", ["-r", join(tmp, "gen"), out]);
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
