// Apollo Server hashes the text of every request (computeQueryHash, for its document cache and
// APQ) with @apollo/utils.createhash, whose createHash calls `module.require('crypto')` on every
// call. The module cache answers, but only after Node's resolver, and under tsx (`npm start`) after
// tsx's resolver hook too: about 5 % of the CPU of a `{ __typename }` request. Importing this
// module replaces that export with the same function over a `crypto` loaded once (Apollo calls it
// through the exports object, so it sees the replacement); the hashes are the same.
import { createHash } from 'node:crypto';

// The CommonJS exports object itself (an ES import would give a copy of its bindings).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const apolloHash = require('@apollo/utils.createhash') as { createHash: (kind: string) => ReturnType<typeof createHash> };
apolloHash.createHash = (kind: string) => createHash(kind);
