// Times the published reference ISNCSCI algorithm (npm `isncsci`, black box, installed under
// tools/oracle/node_modules by `npm ci --prefix tools/oracle`) on a JSON Lines file of exams in
// the flat RHI naming, for benchmarks/bench_batch.py.
//
// Usage: node benchmarks/reference_timing.mjs EXAMS.jsonl [REPEATS]
// Prints one JSON line: {"exams": n, "seconds": [per repeat], "errors": n}.
// With REPEATS "serve" it times one pass per line read on standard input and answers each with
// {"exams": n, "seconds": s, "errors": n} (bench_batch.py alternates them with its own passes).
//
// Process start, reading and JSON parsing, and the conversion from the flat naming to the
// package's nested exam object all happen before the clock starts: only the classification
// (constructing ISNCSCI and reading its totals and classification) is timed.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(join(here, "..", "tools", "oracle", "package.json"));
const { ISNCSCI } = require("isncsci");

const DERMATOMES = [
  "C2", "C3", "C4", "C5", "C6", "C7", "C8", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8",
  "T9", "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1", "S2", "S3", "S4_5",
];
const KEY_MUSCLES = ["C5", "C6", "C7", "C8", "T1", "L2", "L3", "L4", "L5", "S1"];

// Flat RHI mapping -> the nested exam object of the package's documented constructor.
function nested(rhi) {
  const exam = {
    voluntaryAnalContraction: String(rhi.analContraction),
    deepAnalPressure: String(rhi.analSensation),
  };
  for (const side of ["right", "left"]) {
    const Side = side === "right" ? "Right" : "Left";
    const s = { motor: {}, lightTouch: {}, pinPrick: {} };
    for (const level of DERMATOMES) {
      s.lightTouch[level] = String(rhi[`${level.toLowerCase()}${Side}Touch`]);
      s.pinPrick[level] = String(rhi[`${level.toLowerCase()}${Side}Prick`]);
    }
    for (const level of KEY_MUSCLES) {
      s.motor[level] = String(rhi[`${level.toLowerCase()}${Side}Motor`]);
    }
    const nonKey = rhi[`${side}LowestNonKeyMuscleWithMotorFunction`];
    if (nonKey !== undefined && nonKey !== null && nonKey !== "") {
      s.lowestNonKeyMuscleWithMotorFunction = String(nonKey);
    }
    exam[side] = s;
  }
  return exam;
}

const [file, repeatsArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: node benchmarks/reference_timing.mjs EXAMS.jsonl [REPEATS]");
  process.exit(2);
}
const repeats = repeatsArg === "serve" ? 0 : Number(repeatsArg ?? 3);
const exams = readFileSync(file, "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => nested(JSON.parse(line)));

let sink = 0; // keeps the results alive so the work cannot be optimised away

// One timed pass over every exam: {seconds, errors}.
function pass() {
  let errors = 0;
  const start = process.hrtime.bigint();
  for (const exam of exams) {
    try {
      const result = new ISNCSCI(exam);
      sink += result.classification.ASIAImpairmentScale.length + String(result.totals.upperExtremity).length;
    } catch {
      errors += 1;
    }
  }
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, errors };
}

if (repeatsArg === "serve") {
  // One pass per line read on standard input, one JSON line answered per pass, until the input
  // ends: the caller alternates these passes with its own, so both see the same machine.
  const lines = createInterface({ input: process.stdin });
  for await (const _line of lines) {
    console.log(JSON.stringify({ exams: exams.length, ...pass(), sink }));
  }
} else {
  const seconds = [];
  let errors = 0;
  for (let r = 0; r < repeats; r++) {
    const done = pass();
    seconds.push(done.seconds);
    errors = done.errors;
  }
  console.log(JSON.stringify({ exams: exams.length, seconds, errors, sink }));
}
