#!/usr/bin/env node
// The sources are TypeScript run through tsx, so the command works straight from a checkout.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli.ts');
