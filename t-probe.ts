import { z } from 'zod';
import { CreatePaymentBody } from './src/payins/validate.ts';
console.log(Object.keys(z.toJSONSchema(CreatePaymentBody, { io: 'input', unrepresentable: 'any' }) as object));
console.log(z.globalRegistry.get(CreatePaymentBody));
