#!/usr/bin/env node
// Runs the compiled CLI when the package was built (npm run build), else the TypeScript sources
// directly through Node's type stripping (Node 22.18+; not available under node_modules).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
await import(existsSync(compiled) ? compiled.href : new URL('../src/cli/main.ts', import.meta.url).href);
