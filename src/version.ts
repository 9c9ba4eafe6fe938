// The package's version, read from package.json beside the code: ../package.json
// from src/ (tsx) and from dist/ (the npm package and the image, /app/package.json).
import { readFileSync } from 'node:fs';

export const VERSION: string = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;
