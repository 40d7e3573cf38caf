// The committed resolver types must be what GraphQL Code Generator makes of
// schema.graphql today: a stale file fails the test run. (The CLI runs in a
// child process: it loads ES modules that Jest's module system cannot.)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

it('src/graphql/generated/resolvers.ts is up to date with schema.graphql (run `npm run codegen`)', () => {
  const root = join(__dirname, '../..');
  const result = spawnSync(process.execPath, [join(root, 'node_modules/@graphql-codegen/cli/cjs/bin.js'), '--config', 'codegen.ts', '--check'], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  expect(`${result.stdout}${result.stderr}`).not.toMatch(/would change|has changed/i);
  expect(result.status).toBe(0);
}, 60_000);
