using System.Net.Http.Json;
using System.Text.Json.Nodes;
using AiGateway.IntegrationTests.Infrastructure;
using Microsoft.Playwright;

namespace AiGateway.BrowserTests;

/// <summary>
/// One gateway, one WireMock scope and one headless Debian Chromium (driven by Playwright .NET) shared by a test class;
/// each test opens its own browser context, so session storage never leaks between tests.
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    /// <summary>Where Debian installs Chromium (tests/scripts/install-chromium.sh); Playwright's own browser download cannot work here.</summary>
    public const string ChromiumPath = "/usr/bin/chromium";

    private IPlaywright _playwright = null!;

    /// <summary>The running gateway.</summary>
    public DashboardHost Gateway { get; private set; } = null!;

    /// <summary>The upstream the providers point at.</summary>
    public WireMockScope Upstream { get; private set; } = null!;

    /// <summary>The shared browser.</summary>
    public IBrowser Browser { get; private set; } = null!;

    /// <summary>Where screenshots go: the repository's artifacts folder, which the test runner keeps.</summary>
    public static string ScreenshotDir { get; } = Path.Combine(RepoPaths.Root, "artifacts", "screenshots");

    public async Task InitializeAsync()
    {
        Upstream = (await SharedWireMock.GetAsync()).NewScope();
        await Upstream.StubJsonAsync("POST", "/v1/chat/completions", 200, Samples.OpenAiChatJson);
        Gateway = new DashboardHost(Upstream);
        _ = Gateway.BaseAddress;
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException($"{ChromiumPath} is missing: run tests/scripts/install-chromium.sh (Debian's chromium package).");
        }
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Without the background-networking flags Chromium keeps dialling Google hosts this machine cannot reach.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync"],
        });
        Directory.CreateDirectory(ScreenshotDir);
    }

    /// <summary>A fresh page at <paramref name="width"/>×<paramref name="height"/>, recording console errors and page errors into <paramref name="errors"/>.</summary>
    public async Task<IPage> NewPageAsync(List<string> errors, int width = 1280, int height = 900, bool mobile = false)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Gateway.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            IsMobile = mobile,
            HasTouch = mobile,
            Locale = "en-US",
        });
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error") errors.Add($"{message.Type}: {message.Text} @ {message.Location}");
        };
        page.PageError += (_, error) => errors.Add("pageerror: " + error);
        return page;
    }

    /// <summary>Makes one metered chat call (the stub answers every model alike) with <paramref name="key"/>; returns its request id.</summary>
    public async Task<string> MeteredCallAsync(string key, string model = "gpt-4o")
    {
        using var http = Gateway.CreateKeyClient(key);
        using var response = await http.PostAsJsonAsync("/openai/v1/chat/completions",
            new { model, messages = new[] { new { role = "user", content = "hello" } } });
        response.EnsureSuccessStatusCode();
        var id = response.Headers.GetValues("X-Request-Id").Single();
        // The call record is written as the request ends; wait until the API shows it.
        for (var i = 0; i < 50; i++)
        {
            using var record = await http.GetAsync($"/v1/credits/calls/{id}");
            if (record.IsSuccessStatusCode) return id;
            await Task.Delay(100);
        }
        throw new TimeoutException($"No call record for {id}");
    }

    /// <summary>Available credits from <c>GET /v1/credits</c>.</summary>
    public async Task<decimal> AvailableAsync(string key)
    {
        using var http = Gateway.CreateKeyClient(key);
        var balance = await http.GetFromJsonAsync<JsonObject>("/v1/credits");
        return balance!["available"]!.GetValue<decimal>();
    }

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        await Gateway.DisposeAsync();
    }
}
