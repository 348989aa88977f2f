// Black-box oracle for cordtrial's differential tests.
//
// Reads JSON Lines of exams in the flat "RHI" naming (../shared/isncsci/README.md) on stdin and
// writes, for every input line and in the same order, one JSON line on stdout:
//   {"id": <id or null>, "totals": {<the 25 result keys, all strings>}}
// or, when the reference algorithm rejects or throws on an exam,
//   {"id": <id or null>, "error": "<message>"}
//
// It only calls the public API of the npm package `isncsci` (constructor ISNCSCI(exam) and its
// `classification` / `totals` properties, as documented in the package README). It is a
// development tool: nothing here is shipped with cordtrial.
import { createInterface } from "node:readline";
import { ISNCSCI } from "isncsci";

const SENSORY_LEVELS = [
  "C2", "C3", "C4", "C5", "C6", "C7", "C8",
  "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9", "T10", "T11", "T12",
  "L1", "L2", "L3", "L4", "L5", "S1", "S2", "S3", "S4_5",
];
const MOTOR_LEVELS = ["C5", "C6", "C7", "C8", "T1", "L2", "L3", "L4", "L5", "S1"];
const SIDES = [["right", "Right"], ["left", "Left"]];

function cell(rhi, name) {
  const value = rhi[name];
  if (value === undefined || value === null) {
    throw new Error(`missing field ${name}`);
  }
  return String(value);
}

// RHI flat mapping -> the nested Exam object the package expects.
function toExam(rhi) {
  const exam = {
    voluntaryAnalContraction: cell(rhi, "analContraction"),
    deepAnalPressure: cell(rhi, "analSensation"),
  };
  for (const [side, Side] of SIDES) {
    const s = { motor: {}, lightTouch: {}, pinPrick: {} };
    for (const level of SENSORY_LEVELS) {
      const prefix = level.toLowerCase();
      s.lightTouch[level] = cell(rhi, `${prefix}${Side}Touch`);
      s.pinPrick[level] = cell(rhi, `${prefix}${Side}Prick`);
    }
    for (const level of MOTOR_LEVELS) {
      s.motor[level] = cell(rhi, `${level.toLowerCase()}${Side}Motor`);
    }
    const nonKey = rhi[`${side}LowestNonKeyMuscleWithMotorFunction`];
    if (nonKey !== undefined && nonKey !== null && nonKey !== "") {
      s.lowestNonKeyMuscleWithMotorFunction = String(nonKey);
    }
    exam[side] = s;
  }
  return exam;
}

// Package result -> the 25 keys of the reference cases' `totals`, in their order.
function toRhiTotals(result) {
  const t = result.totals;
  const c = result.classification;
  const levels = c.neurologicalLevels;
  const zpp = c.zoneOfPartialPreservations;
  const out = {
    rightUpperMotorTotal: t.right.upperExtremity,
    leftUpperMotorTotal: t.left.upperExtremity,
    rightLowerMotorTotal: t.right.lowerExtremity,
    leftLowerMotorTotal: t.left.lowerExtremity,
    rightTouchTotal: t.right.lightTouch,
    leftTouchTotal: t.left.lightTouch,
    rightPrickTotal: t.right.pinPrick,
    leftPrickTotal: t.left.pinPrick,
    rightMotorTotal: t.right.motor,
    leftMotorTotal: t.left.motor,
    upperMotorTotal: t.upperExtremity,
    lowerMotorTotal: t.lowerExtremity,
    touchTotal: t.lightTouch,
    prickTotal: t.pinPrick,
    rightSensory: levels.sensoryRight,
    leftSensory: levels.sensoryLeft,
    rightMotor: levels.motorRight,
    leftMotor: levels.motorLeft,
    neurologicalLevelOfInjury: c.neurologicalLevelOfInjury,
    rightSensoryZpp: zpp.sensoryRight,
    leftSensoryZpp: zpp.sensoryLeft,
    rightMotorZpp: zpp.motorRight,
    leftMotorZpp: zpp.motorLeft,
    asiaImpairmentScale: c.ASIAImpairmentScale,
    injuryComplete: c.injuryComplete,
  };
  for (const [key, value] of Object.entries(out)) {
    out[key] = String(value);
  }
  return out;
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (line.trim() === "") {
    // Keep one output line per input line so callers can zip inputs and outputs.
    process.stdout.write(JSON.stringify({ id: null, error: "empty input line" }) + "\n");
    continue;
  }
  let id = null;
  let answer;
  try {
    const rhi = JSON.parse(line);
    id = rhi.id ?? null;
    answer = { id, totals: toRhiTotals(new ISNCSCI(toExam(rhi))) };
  } catch (err) {
    answer = { id, error: String(err && err.message ? err.message : err) };
  }
  // write() buffers; honour back-pressure so huge runs stay streaming with bounded memory.
  if (!process.stdout.write(JSON.stringify(answer) + "\n")) {
    await new Promise((resolve) => process.stdout.once("drain", resolve));
  }
}
