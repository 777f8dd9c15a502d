export { main, COMMANDS } from './cli.js';
export type { CliIo } from './cli.js';
export { ExitCodes } from './command.js';
export type { Command } from './command.js';
export type { CliConfigFile } from './config.js';
