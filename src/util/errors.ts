/**
 * An error caused by the user's input (a bad file, a bad flag). The CLI prints its
 * message as one line and exits non-zero; anything else is a bug.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/** Throws a UserError unless `cond` holds. */
export function check(cond: unknown, message: string | (() => string)): asserts cond {
  if (!cond) throw new UserError(typeof message === "function" ? message() : message);
}
