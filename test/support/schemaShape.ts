// The shape of a PostgreSQL schema, read two ways: from schema.prisma (through
// Prisma's DMMF) and from a live database's catalog. The drift test compares
// them so that a hand-written migration cannot silently disagree with the
// Prisma schema.
import type { SqlSession } from '../../src/db/sql';

export interface ColumnShape {
  type: string;
  nullable: boolean;
  default: string | null;
}
export interface IndexShape {
  unique: boolean;
  primary: boolean;
  columns: string[];
}
export interface ForeignKeyShape {
  columns: string[];
  references: string;
  refColumns: string[];
  onDelete: string;
  onUpdate: string;
}
export interface TableShape {
  columns: Record<string, ColumnShape>;
  indexes: Record<string, IndexShape>;
  foreignKeys: Record<string, ForeignKeyShape>;
}
export interface SchemaShape {
  enums: Record<string, string[]>;
  tables: Record<string, TableShape>;
}

// --------------------------------------------------------------- from Prisma

interface DmmfField {
  name: string;
  dbName?: string | null;
  kind: string;
  type: string;
  isList: boolean;
  isRequired: boolean;
  nativeType?: [string, string[]] | null;
  default?: unknown;
  relationFromFields?: readonly string[];
  relationToFields?: readonly string[];
  relationOnDelete?: string;
  relationOnUpdate?: string;
}
interface DmmfModel {
  name: string;
  dbName: string | null;
  fields: readonly DmmfField[];
}
interface DmmfIndex {
  model: string;
  type: 'id' | 'unique' | 'normal' | 'fulltext';
  dbName?: string | null;
  fields: readonly { name: string; sortOrder?: 'asc' | 'desc' }[];
}
export interface Dmmf {
  datamodel: {
    models: readonly DmmfModel[];
    enums: readonly { name: string; dbName?: string | null; values: readonly { name: string; dbName?: string | null }[] }[];
    indexes: readonly DmmfIndex[];
  };
}

const NATIVE: Record<string, (args: string[]) => string> = {
  Uuid: () => 'uuid',
  Char: ([n]) => `character(${n})`,
  VarChar: ([n]) => (n ? `character varying(${n})` : 'character varying'),
  Decimal: ([p, s]) => `numeric(${p},${s})`,
  Timestamptz: ([p]) => `timestamp(${p ?? 6}) with time zone`,
  Timestamp: ([p]) => `timestamp(${p ?? 6}) without time zone`,
  Date: () => 'date',
  Text: () => 'text',
  Integer: () => 'integer',
  BigInt: () => 'bigint',
  JsonB: () => 'jsonb',
};
const SCALAR: Record<string, string> = {
  String: 'text', Int: 'integer', BigInt: 'bigint', Boolean: 'boolean', Json: 'jsonb',
  DateTime: 'timestamp(3) without time zone', Decimal: 'numeric(65,30)', Float: 'double precision',
};

const REFERENTIAL: Record<string, string> = {
  Restrict: 'RESTRICT', Cascade: 'CASCADE', SetNull: 'SET NULL', NoAction: 'NO ACTION', SetDefault: 'SET DEFAULT',
};

export function shapeFromDmmf(dmmf: Dmmf): SchemaShape {
  const { models, enums, indexes } = dmmf.datamodel;
  const enumDbName = new Map(enums.map((e) => [e.name, e.dbName ?? e.name]));
  const table = (model: DmmfModel) => model.dbName ?? model.name;
  const byName = new Map(models.map((m) => [m.name, m]));
  const column = (model: DmmfModel, fieldName: string) => {
    const field = model.fields.find((f) => f.name === fieldName);
    return field?.dbName ?? fieldName;
  };
  const shape: SchemaShape = { enums: {}, tables: {} };
  for (const e of enums) shape.enums[e.dbName ?? e.name] = e.values.map((v) => v.dbName ?? v.name);

  for (const model of models) {
    const t: TableShape = { columns: {}, indexes: {}, foreignKeys: {} };
    for (const field of model.fields) {
      if (field.kind === 'object') {
        const from = field.relationFromFields ?? [];
        if (from.length === 0) continue;
        const cols = from.map((f) => column(model, f));
        const target = byName.get(field.type)!;
        t.foreignKeys[`${table(model)}_${cols.join('_')}_fkey`] = {
          columns: cols,
          references: table(target),
          refColumns: (field.relationToFields ?? []).map((f) => column(target, f)),
          onDelete: REFERENTIAL[field.relationOnDelete ?? (field.isRequired ? 'Restrict' : 'SetNull')]!,
          onUpdate: REFERENTIAL[field.relationOnUpdate ?? 'Cascade']!,
        };
        continue;
      }
      let type = field.kind === 'enum' ? enumDbName.get(field.type)! : field.nativeType
        ? NATIVE[field.nativeType[0]]!(field.nativeType[1])
        : SCALAR[field.type]!;
      if (field.isList) type += '[]';
      t.columns[field.dbName ?? field.name] = {
        type,
        nullable: field.isList || !field.isRequired, // Prisma creates scalar lists without NOT NULL
        default: Array.isArray(field.default)
          ? listDefault(field.default, type)
          : (field.default as { name?: string } | undefined)?.name === 'autoincrement'
            ? `nextval('${table(model)}_${field.dbName ?? field.name}_seq'::regclass)`
            : expectedDefault(field, enumDbName),
      };
    }
    shape.tables[table(model)] = t;
  }

  for (const index of indexes) {
    const model = byName.get(index.model)!;
    const cols = index.fields.map((f) => column(model, f.name));
    const suffix = index.type === 'id' ? 'pkey' : index.type === 'unique' ? 'key' : 'idx';
    const name = index.dbName ?? (index.type === 'id' ? `${table(model)}_pkey` : `${table(model)}_${cols.join('_')}_${suffix}`);
    shape.tables[table(model)]!.indexes[name] = {
      unique: index.type !== 'normal',
      primary: index.type === 'id',
      columns: index.fields.map((f, i) => `${cols[i]}${f.sortOrder === 'desc' ? ' DESC' : ''}`),
    };
  }
  return shape;
}

function listDefault(values: unknown[], type: string): string {
  if (values.length > 0) throw new Error('non-empty list defaults are not compared yet');
  return `ARRAY[]::${type}`;
}

function expectedDefault(field: DmmfField, enumDbName: Map<string, string>): string | null {
  const d = field.default as { name?: string; args?: unknown[] } | string | number | boolean | undefined;
  if (d === undefined) return null;
  if (typeof d === 'object' && d !== null && 'name' in d) {
    if (d.name === 'dbgenerated') return String(d.args?.[0]);
    if (d.name === 'now') return 'CURRENT_TIMESTAMP';
    return `<function ${d.name}>`; // uuid(), cuid(): generated by the client, not the database
  }
  if (field.kind === 'enum') return `'${d}'::${enumDbName.get(field.type)}`;
  if (field.type === 'Json') return `'${d}'::jsonb`;
  if (field.type === 'String') return `'${d}'::text`;
  return String(d);
}

// ------------------------------------------------------------ from a database

export async function shapeFromDatabase(sql: SqlSession): Promise<SchemaShape> {
  const shape: SchemaShape = { enums: {}, tables: {} };
  const enums = await sql.query<{ name: string; labels: string[] }>(
    `SELECT t.typname AS name, array_agg(e.enumlabel::text ORDER BY e.enumsortorder) AS labels
     FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid JOIN pg_namespace n ON n.oid = t.typnamespace
     WHERE n.nspname = 'public' GROUP BY t.typname`,
  );
  for (const e of enums) shape.enums[e.name] = e.labels;
  const tableOf = (name: string) => (shape.tables[name] ??= { columns: {}, indexes: {}, foreignKeys: {} });

  const columns = await sql.query<{ table: string; column: string; type: string; notnull: boolean; default: string | null }>(
    `SELECT c.relname AS table, a.attname AS column, format_type(a.atttypid, a.atttypmod) AS type,
            a.attnotnull AS notnull, pg_get_expr(d.adbin, d.adrelid) AS default
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
     WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
       AND c.relname <> '_prisma_migrations'`,
  );
  for (const c of columns) {
    tableOf(c.table).columns[c.column] = { type: c.type.replace(/^"(.*)"$/, '$1'), nullable: !c.notnull, default: c.default };
  }

  const indexes = await sql.query<{ table: string; name: string; unique: boolean; primary: boolean; columns: string[] }>(
    `SELECT t.relname AS table, i.relname AS name, ix.indisunique AS unique, ix.indisprimary AS primary,
            array(SELECT a.attname::text || CASE WHEN (ix.indoption[k.ord - 1] & 1) = 1 THEN ' DESC' ELSE '' END
                  FROM unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
                  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.ord) AS columns
     FROM pg_index ix JOIN pg_class i ON i.oid = ix.indexrelid JOIN pg_class t ON t.oid = ix.indrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE n.nspname = 'public' AND t.relname <> '_prisma_migrations'`,
  );
  for (const ix of indexes) tableOf(ix.table).indexes[ix.name] = { unique: ix.unique, primary: ix.primary, columns: ix.columns };

  const actions: Record<string, string> = { a: 'NO ACTION', r: 'RESTRICT', c: 'CASCADE', n: 'SET NULL', d: 'SET DEFAULT' };
  const fks = await sql.query<{ table: string; name: string; columns: string[]; references: string; ref_columns: string[]; on_delete: string; on_update: string }>(
    `SELECT t.relname AS table, con.conname AS name,
            array(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o) AS columns,
            r.relname AS references,
            array(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o) AS ref_columns,
            con.confdeltype::text AS on_delete, con.confupdtype::text AS on_update
     FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid JOIN pg_class r ON r.oid = con.confrelid
     JOIN pg_namespace n ON n.oid = t.relnamespace
     WHERE con.contype = 'f' AND n.nspname = 'public'`,
  );
  for (const fk of fks) {
    tableOf(fk.table).foreignKeys[fk.name] = {
      columns: fk.columns, references: fk.references, refColumns: fk.ref_columns,
      onDelete: actions[fk.on_delete]!, onUpdate: actions[fk.on_update]!,
    };
  }
  return shape;
}

// ------------------------------------------------------------------- compare

/** Human-readable differences between the expected and the actual shape; empty when they agree. */
export function diffShapes(expected: SchemaShape, actual: SchemaShape): string[] {
  const out: string[] = [];
  const keys = (a: object, b: object) => [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  for (const name of keys(expected.enums, actual.enums)) {
    const e = JSON.stringify(expected.enums[name]);
    const a = JSON.stringify(actual.enums[name]);
    if (e !== a) out.push(`enum ${name}: schema.prisma ${e ?? 'absent'}, database ${a ?? 'absent'}`);
  }
  for (const table of keys(expected.tables, actual.tables)) {
    const e = expected.tables[table];
    const a = actual.tables[table];
    if (!e || !a) {
      out.push(`table ${table}: ${e ? 'missing in the database' : 'not in schema.prisma'}`);
      continue;
    }
    for (const part of ['columns', 'indexes', 'foreignKeys'] as const) {
      for (const name of keys(e[part], a[part])) {
        const ev = JSON.stringify(e[part][name]);
        const av = JSON.stringify(a[part][name]);
        if (ev !== av) out.push(`${table} ${part} ${name}: schema.prisma ${ev ?? 'absent'}, database ${av ?? 'absent'}`);
      }
    }
  }
  return out;
}
