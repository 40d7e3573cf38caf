// npm run persisted:build -- <folder> [--out file] [--add-typename]
//
// Makes the trusted-documents manifest of PERSISTED_OPERATIONS=only from a
// folder of .graphql files (searched recursively): each named operation, with
// the fragments it uses (from any file), becomes one document, printed by
// graphql-js as Apollo Client prints what it sends, and keyed by the SHA-256
// hex of that text, which is the hash Apollo Client's persisted-query link
// sends. Every operation is validated against schema.graphql; an invalid one
// stops the build with a message naming its file. --add-typename adds
// __typename to every selection set below the root, as Apollo Client's cache
// does to the documents it sends.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import {
  buildSchema, Kind, parse, print, specifiedRules, validate, visit,
  type DefinitionNode, type DocumentNode, type FieldNode, type FragmentDefinitionNode, type GraphQLSchema, type OperationDefinitionNode, type SelectionSetNode,
} from 'graphql';
import { sha256Hex } from '../graphql/persisted';

/** The service's schema (src/server.ts reads the same file). */
const SCHEMA_PATH = join(__dirname, '../../schema.graphql');

export class ManifestError extends Error {}

interface Source {
  file: string;
  document: DocumentNode;
}

function graphqlFiles(folder: string): string[] {
  let entries;
  try {
    entries = readdirSync(folder, { recursive: true, withFileTypes: true });
  } catch (error) {
    throw new ManifestError(`${folder}: not a readable folder (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  return entries
    .filter((entry) => entry.isFile() && /\.(graphql|gql)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

const TYPENAME: FieldNode = { kind: Kind.FIELD, name: { kind: Kind.NAME, value: '__typename' } };

/** Adds __typename to selection sets below the root, as Apollo Client's addTypenameToDocument does. */
export function addTypename(document: DocumentNode): DocumentNode {
  return visit(document, {
    SelectionSet: {
      enter(node: SelectionSetNode, _key, parent) {
        if (parent && (parent as DefinitionNode).kind === Kind.OPERATION_DEFINITION) return undefined;
        if (node.selections.some((s) => s.kind === Kind.FIELD && s.name.value.startsWith('__'))) return undefined;
        if (parent && (parent as FieldNode).kind === Kind.FIELD && (parent as FieldNode).directives?.some((d) => d.name.value === 'export')) return undefined;
        return { ...node, selections: [...node.selections, TYPENAME] };
      },
    },
  });
}

/** The names of the fragments an operation (or fragment) spreads, transitively. */
function usedFragments(root: DefinitionNode, fragments: Map<string, { node: FragmentDefinitionNode; file: string }>, file: string): FragmentDefinitionNode[] {
  const used = new Map<string, FragmentDefinitionNode>();
  const walk = (node: DefinitionNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const name = spread.name.value;
        if (used.has(name)) return;
        const fragment = fragments.get(name);
        if (!fragment) throw new ManifestError(`${file}: unknown fragment "${name}"`);
        used.set(name, fragment.node);
        walk(fragment.node);
      },
    });
  walk(root);
  return [...used.values()].sort((a, b) => a.name.value.localeCompare(b.name.value));
}

/** The manifest (SHA-256 hex -> document) of a folder's operations; ManifestError names the file of any problem. */
export function buildManifest(folder: string, schema: GraphQLSchema, options: { addTypename?: boolean } = {}): Record<string, string> {
  const files = graphqlFiles(folder);
  if (files.length === 0) throw new ManifestError(`${folder}: no .graphql files`);
  const sources: Source[] = files.map((file) => {
    try {
      return { file: relative(process.cwd(), file), document: parse(readFileSync(file, 'utf8')) };
    } catch (error) {
      throw new ManifestError(`${relative(process.cwd(), file)}: ${(error as Error).message}`);
    }
  });
  const fragments = new Map<string, { node: FragmentDefinitionNode; file: string }>();
  const operations = new Map<string, { node: OperationDefinitionNode; file: string }>();
  for (const { file, document } of sources) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) {
        const twin = fragments.get(definition.name.value);
        if (twin) throw new ManifestError(`${file}: fragment "${definition.name.value}" is also defined in ${twin.file}`);
        fragments.set(definition.name.value, { node: definition, file });
      } else if (definition.kind === Kind.OPERATION_DEFINITION) {
        const name = definition.name?.value;
        if (!name) throw new ManifestError(`${file}: every operation needs a name (it names the operation in logs and metrics)`);
        const twin = operations.get(name);
        if (twin) throw new ManifestError(`${file}: operation "${name}" is also defined in ${twin.file}`);
        operations.set(name, { node: definition, file });
      } else {
        throw new ManifestError(`${file}: only operations and fragments belong in an operations folder, found ${definition.kind}`);
      }
    }
  }
  if (operations.size === 0) throw new ManifestError(`${folder}: no operations found`);
  const manifest: Record<string, string> = {};
  for (const [name, { node, file }] of [...operations].sort(([a], [b]) => a.localeCompare(b))) {
    let document: DocumentNode = { kind: Kind.DOCUMENT, definitions: [node, ...usedFragments(node, fragments, file)] };
    const errors = validate(schema, document, specifiedRules);
    if (errors.length > 0) throw new ManifestError(`${file}: operation "${name}" is not valid against schema.graphql: ${errors.map((e) => e.message).join('; ')}`);
    if (options.addTypename) document = addTypename(document);
    const text = print(document);
    manifest[sha256Hex(text)] = text;
  }
  return manifest;
}

function main(argv: string[]): void {
  const args = [...argv];
  let out: string | undefined;
  let typename = false;
  const positional: string[] = [];
  while (args.length > 0) {
    const arg = args.shift() as string;
    if (arg === '--out') out = args.shift();
    else if (arg === '--add-typename') typename = true;
    else if (arg.startsWith('--')) throw new ManifestError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  if (positional.length !== 1 || (out === undefined && argv.includes('--out'))) {
    throw new ManifestError('usage: npm run persisted:build -- <folder of .graphql operations> [--out manifest.json] [--add-typename]');
  }
  const schema = buildSchema(readFileSync(SCHEMA_PATH, 'utf8'));
  const manifest = buildManifest(positional[0] as string, schema, { addTypename: typename });
  const json = `${JSON.stringify(manifest, null, 2)}\n`;
  if (out) {
    writeFileSync(out, json);
    console.error(`wrote ${Object.keys(manifest).length} operation(s) to ${out}`);
  } else {
    process.stdout.write(json);
  }
}

if (require.main === module) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    console.error(error instanceof ManifestError ? `persisted:build: ${error.message}` : error);
    process.exit(1);
  }
}
