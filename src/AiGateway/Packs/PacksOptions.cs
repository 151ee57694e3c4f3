namespace AiGateway.Packs;

/// <summary>The credit-pack catalog and the Stripe webhook settings (section <c>Packs</c>, from <c>config/packs.json</c>).</summary>
public sealed class PacksOptions
{
    /// <summary>The configuration section name.</summary>
    public const string SectionName = "Packs";

    /// <summary>The packs on sale, in display order.</summary>
    public List<PackDefinition> Catalog { get; set; } = [];

    /// <summary>
    /// The Stripe endpoint's signing secret (<c>whsec_…</c>); set it through the environment (<c>Packs__StripeWebhookSecret</c>),
    /// never in a file in the repository. Empty disables <c>POST /webhooks/stripe</c> (404).
    /// </summary>
    public string? StripeWebhookSecret { get; set; }

    /// <summary>How far a signed timestamp may be from now before the event is refused as a replay (Stripe's default: 300 s).</summary>
    public int StripeToleranceSeconds { get; set; } = 300;
}

/// <summary>One pack: credits granted as one lot when it is bought or issued by an admin.</summary>
public sealed class PackDefinition
{
    /// <summary>Stable id used in the admin API and in Stripe Checkout metadata (<c>pack_id</c>); lower-case letters, digits, '-', '_'.</summary>
    public string Id { get; set; } = "";

    /// <summary>Display name; also the lot's reason ("Credit pack: …").</summary>
    public string Name { get; set; } = "";

    /// <summary>Credits the pack grants (decimal, at most six decimals).</summary>
    public decimal Credits { get; set; }

    /// <summary>The lot kind; <c>addon</c> unless configured otherwise (plan and daily lots belong to plans, not packs).</summary>
    public string Kind { get; set; } = Ledger.CreditKinds.Addon;

    /// <summary>Days the credits stay valid; null takes <c>Ledger:AddonValidDays</c> for add-on lots.</summary>
    public int? ValidDays { get; set; }

    /// <summary>Display price in <see cref="Currency"/>; the gateway never charges it (the payment provider does).</summary>
    public decimal Price { get; set; }

    /// <summary>ISO 4217 code of the display price, e.g. <c>USD</c>.</summary>
    public string Currency { get; set; } = "";
}
