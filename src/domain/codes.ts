// ISO code lists: ISO 4217 currencies (currency-codes) and ISO 3166-1
// alpha-2 countries (i18n-iso-countries); UN M49 numeric codes for regions.
import currencyCodes from 'currency-codes';
import countries from 'i18n-iso-countries';

const CURRENCIES = new Set(currencyCodes.codes());

export const isCurrencyCode = (code: string): boolean => CURRENCIES.has(code);
export const isCountryCode = (code: string): boolean => /^[A-Z]{2}$/.test(code) && countries.isValid(code);
export const isRegionCode = (code: string): boolean => /^\d{3}$/.test(code);
