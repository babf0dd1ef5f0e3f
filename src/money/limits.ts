/**
 * The largest amount, in minor units of any currency, that Bursar accepts from the outside: 10^15.
 * That is ten trillion USD (in cents) or a quadrillion JPY. PostgreSQL int8 holds up to about 9.22 * 10^18, so
 * more than nine thousand maximal amounts can be summed in one column or balance before overflow is possible,
 * which keeps sums, fees and reports far from the edge without checking every addition.
 */
export const MAX_AMOUNT_MINOR = 10n ** 15n;
