// Scalars of the API. Date, DateTime, JSON and JSONObject come from
// graphql-scalars as they are. Currency and CountryCode are graphql-scalars'
// own validators with the input first trimmed and upper-cased (the contract
// normalises inputs before validating them). Decimal is ours: exact, as a
// string on the wire, never a float.
import { GraphQLError, GraphQLScalarType, Kind, type ValueNode } from 'graphql';
import {
  CountryCodeResolver, CurrencyResolver, DateResolver, DateTimeResolver, JSONObjectResolver, JSONResolver,
} from 'graphql-scalars';
import { canonicalDecimal } from '../domain/decimal';

function normalisingCodeScalar(base: GraphQLScalarType): GraphQLScalarType {
  const normalise = (value: unknown) => (typeof value === 'string' ? value.trim().toUpperCase() : value);
  return new GraphQLScalarType({
    name: base.name,
    description: base.description,
    serialize: (value) => base.serialize(value),
    parseValue: (value) => base.parseValue(normalise(value)),
    parseLiteral: (ast) => {
      if (ast.kind !== Kind.STRING) throw new GraphQLError(`${base.name} must be a string, e.g. "USD"`, { nodes: ast });
      return base.parseValue(normalise(ast.value));
    },
  });
}

function decimalFromText(text: string, nodes?: ValueNode): string {
  const canonical = canonicalDecimal(text);
  if (canonical === null) {
    throw new GraphQLError(
      `Decimal must be a plain decimal number such as "1150000.25" (no exponent, NaN or Infinity); got ${JSON.stringify(text.slice(0, 70))}`,
      { nodes },
    );
  }
  return canonical;
}

export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: 'Decimal',
  description: 'An exact decimal number, written as a string.',
  serialize(value) {
    if (typeof value === 'string') return value;
    if (typeof value === 'object' && value !== null && typeof (value as { toFixed?: unknown }).toFixed === 'function') {
      return (value as { toFixed(): string }).toFixed();
    }
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    throw new GraphQLError('Decimal cannot represent a non-decimal value');
  },
  parseValue(value) {
    if (typeof value === 'string') return decimalFromText(value);
    // JSON numbers were already parsed to binary floats: only whole numbers survive exactly.
    if (typeof value === 'number' && Number.isSafeInteger(value)) return String(value);
    throw new GraphQLError('Decimal must be a string such as "1150000.25" (a JSON number would lose precision)');
  },
  parseLiteral(ast) {
    // The literal's source text is exact, so integer and float literals are safe to take as written.
    if (ast.kind === Kind.STRING || ast.kind === Kind.INT || ast.kind === Kind.FLOAT) return decimalFromText(ast.value, ast);
    throw new GraphQLError('Decimal must be a string such as "1150000.25"', { nodes: ast });
  },
});

/** graphql-scalars' Date, limited to the years a database date holds (1 to 9999). */
function boundedDate(base: GraphQLScalarType): GraphQLScalarType {
  const check = (value: unknown) => {
    const year = value instanceof Date ? value.getUTCFullYear() : Number.NaN;
    if (!(year >= 1 && year <= 9999)) throw new GraphQLError('Date must be a calendar date from 0001-01-01 to 9999-12-31');
    return value;
  };
  return new GraphQLScalarType({
    name: base.name,
    description: base.description,
    serialize: (value) => base.serialize(value),
    parseValue: (value) => check(base.parseValue(value)),
    parseLiteral: (ast, variables) => check(base.parseLiteral(ast, variables)),
  });
}

export const scalarResolvers = {
  Date: boundedDate(DateResolver),
  DateTime: DateTimeResolver,
  JSON: JSONResolver,
  JSONObject: JSONObjectResolver,
  Currency: normalisingCodeScalar(CurrencyResolver),
  CountryCode: normalisingCodeScalar(CountryCodeResolver),
  Decimal: DecimalScalar,
};
