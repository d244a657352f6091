/** Validation of CLI option values, each failure a one-line UserError. */
import { extname } from "node:path";
import { UserError } from "../util/errors.js";

export function requireOutput(path: string, ext: string): string {
  if (!path) throw new UserError("missing output path (-o)");
  if (extname(path).toLowerCase() !== ext) throw new UserError(`${path}: output file must end in ${ext}`);
  return path;
}

export function parseIntOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) throw new UserError(`--${name} must be an integer from ${min} to ${max}, got '${value}'`);
    return n;
  };
}

/** A number > 0 (`integer`: a whole one); what range makes sense is checked once the model is loaded. */
export function parsePositiveOption(name: string, integer = false) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) throw new UserError(`--${name} must be a positive ${integer ? "integer" : "number"}, got '${value}'`);
    return n;
  };
}

export function parseFloatOption(name: string, min: number, max: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n < min || n > max) throw new UserError(`--${name} must be a number from ${min} to ${max}, got '${value}'`);
    return n;
  };
}

export function parseChoice<T extends string>(name: string, choices: readonly T[]) {
  return (value: string): T => {
    if (!(choices as readonly string[]).includes(value)) throw new UserError(`--${name} must be one of ${choices.join(", ")}, got '${value}'`);
    return value as T;
  };
}
