using System.Text.Json.Serialization;
using AiGateway.Accounts;
using AiGateway.Ledger;
using AiGateway.Pricing;
using Microsoft.AspNetCore.Http.HttpResults;

namespace AiGateway.Unified;

/// <summary>One entry of OpenAI's model list.</summary>
/// <param name="Id">The model name to send as <c>model</c>.</param>
/// <param name="OwnedBy">The price book's provider.</param>
public sealed record ModelEntry(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("owned_by")] string OwnedBy)
{
    /// <summary>Always <c>model</c>.</summary>
    [JsonPropertyName("object")]
    public string Object => "model";

    /// <summary>OpenAI's creation time; the price book has none, so 0.</summary>
    [JsonPropertyName("created")]
    public long Created => 0;
}

/// <summary>OpenAI's list shape: <c>{"object":"list","data":[...]}</c>.</summary>
public sealed record ModelList([property: JsonPropertyName("data")] IReadOnlyList<ModelEntry> Data)
{
    /// <summary>Always <c>list</c>.</summary>
    [JsonPropertyName("object")]
    public string Object => "list";
}

/// <summary><c>GET /v1/models</c>: the priced text models the caller may use through the unified endpoint.</summary>
public static class ModelsApi
{
    /// <summary>Maps <c>GET /v1/models</c> behind the caller's gateway key.</summary>
    public static IEndpointRouteBuilder MapUnifiedApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/models", ListAsync).AddEndpointFilter<Api.GatewayKeyFilter>()
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .WithName("ListModels")
            .WithSummary("The priced text models this key may call through the OpenAI-compatible endpoint, in OpenAI's list shape")
            .WithDescription("A model is listed when its provider has a route and the caller's plan makes it unlimited, or a lot with credits left may pay for it (unscoped, or scoped to the model and to text).")
            .WithTags("OpenAI-compatible");
        return app;
    }

    /// <summary>Lists the models; unlimited-plan and lot-scope aware.</summary>
    public static async Task<Ok<ModelList>> ListAsync(HttpContext context, PriceBook prices, ProviderRoutes routes, CreditLedger ledger, PlanCatalog plans, TimeProvider time)
    {
        var caller = context.GetCallerAccount()!;
        var balance = await ledger.GetBalanceAsync(caller.AccountId, cancellationToken: context.RequestAborted);
        var now = time.GetUtcNow();
        // Lots that can pay now: credits left, already in effect (the balance lists only unexpired ones).
        var payable = balance is { Exhausted: false } ? balance.Lots.Where(l => l.Remaining.Micro > 0 && l.EffectiveAt <= now).ToList() : [];
        var entries = new List<ModelEntry>();
        foreach (var price in prices.Models)
        {
            if (price.Modality != ModelModality.Text || routes.Find(price.Provider) is null) continue;
            var usable = plans.IsUnlimited(caller.Plan, price.Name) || payable.Any(lot => Pays(lot, price.Name));
            if (usable) entries.Add(new ModelEntry(price.Name, price.Provider));
        }
        return TypedResults.Ok(new ModelList(entries));
    }

    private static bool Pays(LotView lot, string model) =>
        (lot.Models is null || lot.Models.Any(p => LotScope.Matches(p, model)))
        && (lot.Modalities is null || lot.Modalities.Contains("text", StringComparer.OrdinalIgnoreCase));
}

/// <summary>Registers the unified endpoint's services.</summary>
public static class UnifiedExtensions
{
    /// <summary>Adds the provider route lookup the unified endpoint and the model list use.</summary>
    public static IServiceCollection AddUnifiedEndpoint(this IServiceCollection services)
    {
        services.AddSingleton<ProviderRoutes>();
        return services;
    }
}
