using System.Text.RegularExpressions;
using AiGateway.Ledger;
using AiGateway.Pricing;
using Microsoft.Extensions.Options;

namespace AiGateway.Packs;

/// <summary>Rejects a pack catalog that would mis-grant or mis-display: bad ids, non-positive or sub-micro credits, bad kinds, validity or prices.</summary>
public sealed partial class PacksOptionsValidator : IValidateOptions<PacksOptions>
{
    // The same ceiling as prices: far above any real pack, and far inside long micro-credits.
    private const decimal MaxCredits = 1_000_000_000m;

    /// <summary>Validates the whole catalog and reports every problem at once.</summary>
    public ValidateOptionsResult Validate(string? name, PacksOptions options)
    {
        var errors = Errors(options);
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    /// <summary>Every problem in the options, one message each; empty when valid.</summary>
    public static List<string> Errors(PacksOptions options)
    {
        var errors = new List<string>();
        if (options.StripeToleranceSeconds is < 1 or > 3600)
            errors.Add("Packs:StripeToleranceSeconds must be between 1 and 3600.");
        var ids = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Catalog.Count; i++)
        {
            var pack = options.Catalog[i];
            var at = string.IsNullOrWhiteSpace(pack.Id) ? $"Packs:Catalog:{i}" : $"Pack '{pack.Id}'";
            if (pack.Id is null || !IdPattern().IsMatch(pack.Id))
                errors.Add($"{at}: id must be 1-64 lower-case letters, digits, '-' or '_'.");
            else if (!ids.Add(pack.Id))
                errors.Add($"{at}: id is used twice.");
            if (string.IsNullOrWhiteSpace(pack.Name))
                errors.Add($"{at}: name is required.");
            if (pack.Credits <= 0)
                errors.Add($"{at}: credits must be positive.");
            else if (pack.Credits > MaxCredits)
                errors.Add($"{at}: credits {pack.Credits} exceed {MaxCredits}.");
            else if (!ModelPrice.IsExactMicro(pack.Credits))
                errors.Add($"{at}: credits {pack.Credits} have more than six decimals.");
            // Plan and daily lots expire with their period; a bought pack must not vanish at midnight.
            if (!CreditKinds.IsKnown(pack.Kind) || pack.Kind is CreditKinds.Plan or CreditKinds.Daily)
                errors.Add($"{at}: kind must be addon, bonus or referral.");
            if (pack.ValidDays is < 1 or > 3650)
                errors.Add($"{at}: validDays must be between 1 and 3650.");
            if (pack.Price < 0)
                errors.Add($"{at}: price must not be negative.");
            if (!CurrencyPattern().IsMatch(pack.Currency ?? ""))
                errors.Add($"{at}: currency must be a three-letter ISO 4217 code such as USD.");
        }
        return errors;
    }

    [GeneratedRegex("^[a-z0-9_-]{1,64}$")]
    private static partial Regex IdPattern();

    [GeneratedRegex("^[A-Z]{3}$")]
    private static partial Regex CurrencyPattern();
}
