import { InputError } from '../errors.js';

/**
 * The lab cannot run here: a system tool failed, an agent died or never became ready. Exit 2 with
 * one line, as docs/lab.md documents ("2 when the lab cannot run here"), not an internal error.
 */
export class LabEnvError extends InputError {
  constructor(message: string) {
    super(message.replace(/\s*\n\s*/g, ' / '));
    this.name = 'LabEnvError';
  }
}
