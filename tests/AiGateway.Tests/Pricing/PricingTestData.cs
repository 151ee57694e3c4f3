using AiGateway.Pricing;

namespace AiGateway.Tests.Pricing;

/// <summary>Small hand-made price books so each test's expected micro-credits can be computed by hand.</summary>
internal static class PricingTestData
{
    /// <summary>A text model counted with o200k_base, with the given prices filled in by the caller.</summary>
    public static ModelPriceOptions Text(Action<ModelPriceOptions>? configure = null)
    {
        var model = new ModelPriceOptions { Provider = "openai", Encoding = "o200k_base", Input = 0 };
        configure?.Invoke(model);
        return model;
    }

    /// <summary>Options holding the given models.</summary>
    public static PricingOptions Options(params (string Name, ModelPriceOptions Model)[] models)
    {
        var options = new PricingOptions();
        foreach (var (name, model) in models)
            options.Models[name] = model;
        return options;
    }

    /// <summary>The resolved price of a single model.</summary>
    public static ModelPrice Price(ModelPriceOptions model)
    {
        var book = new PriceBook(Options(("m", model)));
        Assert.True(book.TryResolve("m", out var price));
        return price;
    }
}
