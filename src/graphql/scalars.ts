// Scalars of the API: graphql-scalars' Date, DateTime, JSON, JSONObject,
// Currency and CountryCode.
import { CurrencyResolver, DateResolver, JSONObjectResolver } from 'graphql-scalars';

export const scalarResolvers = {
  Date: DateResolver,
  Currency: CurrencyResolver,
  JSONObject: JSONObjectResolver,
};
