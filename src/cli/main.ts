#!/usr/bin/env node
/** Entry point of the `onnx-cil` executable. */
import { hideBin } from 'yargs/helpers';
import { reportError, runCli } from './cli.js';

runCli(hideBin(process.argv)).catch(reportError);
