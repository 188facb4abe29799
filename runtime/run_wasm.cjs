// Terrace's WebAssembly runner: what runtime/harness.c does, for a wasm32 artifact, in Node.js.
//
//   node run_wasm.cjs ARTIFACT_DIR WEIGHTS.bin IN_0.bin ... IN_n-1.bin OUT_0.bin ... OUT_m-1.bin
//
// Files are raw little-endian tensors, as for the C harness; sizes come from manifest.json.
// The buffers are laid out in the module's own memory past __heap_base, each 64-byte aligned,
// then the pointer table; terrace_main runs once on one thread. Exit status: 0 when the
// outputs are written, 1 on a usage error, 2 on a file of the wrong size, 3 when an index
// check failed (stderr names it, in the C harness's words).
'use strict';
const fs = require('fs');
const path = require('path');

const ALIGNMENT = 64;
const PAGE = 65536;
const [EXIT_USAGE, EXIT_IO, EXIT_INDEX_CHECK] = [1, 2, 3];

// No libc is linked: these are the libm calls LLVM may leave in the module, from JS Math in
// double precision (wasm rounds each result to f32 on return). fmaf comes from scalarized
// vector FMAs: the product of two f32 is exact in a double, so only the sum rounds (twice).
const LIBM = {
  fmaf: (a, b, c) => a * b + c,
  expf: Math.exp,
  exp2f: (x) => 2 ** x,
  expm1f: Math.expm1,
  logf: Math.log,
  log2f: Math.log2,
  log10f: Math.log10,
  log1pf: Math.log1p,
  powf: Math.pow,
  sinf: Math.sin,
  cosf: Math.cos,
  tanf: Math.tan,
  tanhf: Math.tanh,
  atanf: Math.atan,
  atan2f: Math.atan2,
  fmodf: (a, b) => a % b,
  // C's fmaxf/fminf: a NaN operand gives the other one (Math.max would give NaN)
  fmaxf: (a, b) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.max(a, b)),
  fminf: (a, b) => (Number.isNaN(a) ? b : Number.isNaN(b) ? a : Math.min(a, b)),
  roundf: (x) => Math.sign(x) * Math.round(Math.abs(x)),
};

function align(offset) {
  return Math.ceil(offset / ALIGNMENT) * ALIGNMENT;
}

function readExactly(file, bytes) {
  let data;
  try {
    data = fs.readFileSync(file);
  } catch (error) {
    console.error(`run_wasm: ${file}: ${error.message}`);
    process.exit(EXIT_IO);
  }
  if (data.length !== bytes) {
    console.error(`run_wasm: ${file}: expected exactly ${bytes} bytes, found ${data.length}`);
    process.exit(EXIT_IO);
  }
  return data;
}

function main(args) {
  const [folder, weightsFile, ...files] = args;
  const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'manifest.json'), 'utf8'));
  const inputs = manifest.input_bytes;
  const outputs = manifest.output_bytes;
  if (weightsFile === undefined || files.length !== inputs.length + outputs.length) {
    console.error(`usage: run_wasm.cjs ARTIFACT_DIR WEIGHTS.bin (${inputs.length} input files)` +
                  ` (${outputs.length} output files)`);
    return EXIT_USAGE;
  }
  const module = new WebAssembly.Module(fs.readFileSync(path.join(folder, 'model.wasm')));
  const lacking = WebAssembly.Module.imports(module)
    .filter((item) => item.module !== 'env' || !(item.name in LIBM))
    .map((item) => `${item.module}.${item.name}`);
  if (lacking.length > 0) {
    console.error(`run_wasm: the module imports what this runner lacks: ${lacking.join(', ')}`);
    return EXIT_USAGE;
  }
  const { memory, terrace_main: entry, __heap_base: heapBase } =
    new WebAssembly.Instance(module, { env: LIBM }).exports;

  // Addresses first (inputs, outputs, status, weights, workspace, the table), then memory.
  let next = align(heapBase.value);
  const place = (bytes) => { const at = next; next = align(at + Math.max(bytes, 1)); return at; };
  const inputAt = inputs.map(place);
  const outputAt = outputs.map(place);
  const statusAt = manifest.index_checks.length > 0 ? [place(24)] : [];
  const weightsAt = place(manifest.weights_file.bytes);
  const weightAt = manifest.weights_file.arrays.map((array) => weightsAt + array.offset);
  const workspaceAt = place(manifest.workspace_bytes);
  const buffers = [...inputAt, ...outputAt, ...statusAt, ...weightAt, workspaceAt];
  const tableAt = place(4 * buffers.length);
  if (next > memory.buffer.byteLength) memory.grow(Math.ceil((next - memory.buffer.byteLength) / PAGE));

  // Fresh pages are zero, so the status starts "every index in range".
  const bytes = new Uint8Array(memory.buffer);
  bytes.set(readExactly(weightsFile, manifest.weights_file.bytes), weightsAt);
  inputs.forEach((size, i) => bytes.set(readExactly(files[i], size), inputAt[i]));
  const view = new DataView(memory.buffer);
  buffers.forEach((address, i) => view.setUint32(tableAt + 4 * i, address, true));

  entry(tableAt);

  if (statusAt.length > 0 && view.getBigInt64(statusAt[0], true) !== 0n) {
    const [check, axis, index] = [0, 8, 16].map((o) => view.getBigInt64(statusAt[0] + o, true));
    console.error(`run_wasm: index check ${check} failed: axis ${axis}, index ${index}`);
    return EXIT_INDEX_CHECK;
  }
  outputs.forEach((size, i) => {
    fs.writeFileSync(files[inputs.length + i], bytes.subarray(outputAt[i], outputAt[i] + size));
  });
  return 0;
}

process.exitCode = main(process.argv.slice(2));
