import type { Command } from 'commander';
import type { Ctx } from '../context.js';
import { registerHook } from './hook.js';
import { registerImage } from './image.js';
import { registerInject } from './inject.js';
import { registerIstio } from './istio.js';
import { registerLab } from './lab.js';
import { registerLint } from './lint.js';

export type RegisterCommand = (program: Command, ctx: Ctx) => void;

/** Every subcommand, in the order `meshdrain --help` lists them. */
export const COMMANDS: RegisterCommand[] = [registerInject, registerHook, registerImage, registerIstio, registerLint, registerLab];
