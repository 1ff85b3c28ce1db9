const Stripe = require('stripe');

// Loaded from the environment: fine.
const webhookSecret = process.env.STRIPE_WEBHOOK_SECRET;

// Hard-coded live key: a finding.
const stripe = Stripe('sk_live_51NzQ8xLkT3mR9vB2cW7yH4pD6fJ1gS5aK0eU');

module.exports = { stripe, webhookSecret };
