using AiGateway.Packs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AiGateway.Tests.Packs;

/// <summary>The pack catalog from config/packs.json and the start-up validation of bad packs.</summary>
public sealed class PacksOptionsValidatorTests
{
    private static PackDefinition Good(string id = "topup") =>
        new() { Id = id, Name = "Top-up", Credits = 500, Kind = "addon", ValidDays = 90, Price = 5, Currency = "USD" };

    private static List<string> Errors(params PackDefinition[] packs) =>
        PacksOptionsValidator.Errors(new PacksOptions { Catalog = [.. packs] });

    [Fact]
    public void ShippedCatalog_IsValidAndBound()
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(Path.Combine(AppContext.BaseDirectory, "config", "packs.json")).Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddPacks().BuildServiceProvider();

        services.GetRequiredService<IStartupValidator>().Validate();
        var packs = services.GetRequiredService<IOptions<PacksOptions>>().Value;

        Assert.NotEmpty(packs.Catalog);
        Assert.All(packs.Catalog, p => Assert.Equal("addon", p.Kind));
        Assert.True(string.IsNullOrEmpty(packs.StripeWebhookSecret), "no secret may be committed in config/packs.json");
    }

    [Fact]
    public void GoodPack_NoErrors() => Assert.Empty(Errors(Good()));

    [Theory]
    [InlineData("id", "", "id must be")]
    [InlineData("id", "Top Up", "id must be")]
    [InlineData("name", "", "name is required")]
    [InlineData("credits", "0", "credits must be positive")]
    [InlineData("credits", "-5", "credits must be positive")]
    [InlineData("credits", "0.0000001", "more than six decimals")]
    [InlineData("credits", "1000000001", "exceed")]
    [InlineData("kind", "daily", "kind must be")]
    [InlineData("kind", "plan", "kind must be")]
    [InlineData("kind", "gold", "kind must be")]
    [InlineData("validDays", "0", "validDays must be")]
    [InlineData("validDays", "4000", "validDays must be")]
    [InlineData("price", "-1", "price must not be negative")]
    [InlineData("currency", "usd", "currency must be")]
    [InlineData("currency", "", "currency must be")]
    public void BadPack_Rejected(string field, string value, string expected)
    {
        var pack = Good();
        switch (field)
        {
            case "id": pack.Id = value; break;
            case "name": pack.Name = value; break;
            case "credits": pack.Credits = decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "kind": pack.Kind = value; break;
            case "validDays": pack.ValidDays = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "price": pack.Price = decimal.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "currency": pack.Currency = value; break;
        }
        var errors = Errors(pack);
        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void DuplicateIds_Rejected() =>
        Assert.Contains(Errors(Good("a"), Good("a")), e => e.Contains("used twice", StringComparison.Ordinal));

    [Fact]
    public void BadTolerance_Rejected() =>
        Assert.Contains(PacksOptionsValidator.Errors(new PacksOptions { StripeToleranceSeconds = 0 }), e => e.Contains("StripeToleranceSeconds", StringComparison.Ordinal));

    [Fact]
    public void BadCatalogInConfiguration_FailsStartupValidation()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Packs:Catalog:0:Id"] = "half", ["Packs:Catalog:0:Name"] = "Half", ["Packs:Catalog:0:Credits"] = "-1",
            ["Packs:Catalog:0:Currency"] = "USD",
        }).Build();
        using var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddPacks().BuildServiceProvider();

        var error = Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
        Assert.Contains("credits must be positive", error.Message);
    }
}
