import { EXIT } from './constants.js';

/** Where in an input a problem is. Lines and columns are 1-based. */
export interface SourcePos {
  file: string;
  line?: number;
  col?: number;
}

/** An error the user can act on: one line, exit code 2 by default. Caught only in the CLI. */
export class InputError extends Error {
  constructor(
    message: string,
    readonly pos?: SourcePos,
    readonly exitCode: number = EXIT.input,
  ) {
    super(message);
    this.name = 'InputError';
  }

  /** `file:line:col: message`, the format editors and CI logs link. */
  format(): string {
    if (!this.pos) return this.message;
    const { file, line, col } = this.pos;
    const where = line ? `${file}:${line}:${col ?? 1}` : file;
    return `${where}: ${this.message}`;
  }
}

/** Bad command-line usage: exit code 2. */
export class UsageError extends InputError {
  constructor(message: string) {
    super(message, undefined, EXIT.input);
    this.name = 'UsageError';
  }
}

export { EXIT };
