using AiGateway.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;

namespace AiGateway.Tests.Hosting;

/// <summary>Configuration layering: appsettings.json &lt; config/*.json &lt; environment variables &lt; command-line arguments.</summary>
public sealed class GatewayConfigurationTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "aigw-config-" + Guid.NewGuid().ToString("N"));
    private readonly string _variable = "AIGW_TEST_" + Guid.NewGuid().ToString("N")[..8];

    public GatewayConfigurationTests()
    {
        Directory.CreateDirectory(Path.Combine(_root, "config"));
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable(_variable + "__C", null);
        Environment.SetEnvironmentVariable(_variable + "__D", null);
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void AddGatewayConfiguration_EachLayer_OverridesTheOneBelow()
    {
        // Environment variables named like the section (prefix-free) must win over config/ files.
        File.WriteAllText(Path.Combine(_root, "config", "layer.json"), "{\"" + _variable + "\":{\"B\":\"config\",\"C\":\"config\",\"D\":\"config\"}}");
        File.WriteAllText(Path.Combine(_root, "appsettings.json"), "{\"" + _variable + "\":{\"A\":\"appsettings\",\"B\":\"appsettings\",\"C\":\"appsettings\",\"D\":\"appsettings\"}}");
        Environment.SetEnvironmentVariable(_variable + "__C", "environment");
        Environment.SetEnvironmentVariable(_variable + "__D", "environment");
        var args = new[] { $"--{_variable}:D=argument" };

        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = _root });
        builder.AddGatewayConfiguration(args);
        var section = builder.Configuration.GetSection(_variable);

        Assert.Equal("appsettings", section["A"]);
        Assert.Equal("config", section["B"]);
        Assert.Equal("environment", section["C"]);
        Assert.Equal("argument", section["D"]);
    }

    [Fact]
    public void CreateGatewayBuilder_ReadsAppSettingsOnce_WithoutWatchingTheContentRoot()
    {
        // A watched appsettings.json makes the runtime watch the content root recursively, and the database and the
        // admission log are written below it by default: every write woke the watcher thread (issue #13).
        File.WriteAllText(Path.Combine(_root, "appsettings.json"), "{\"" + _variable + "\":{\"A\":\"appsettings\"}}");

        var builder = GatewayConfigurationExtensions.CreateGatewayBuilder([], _root);
        builder.AddGatewayConfiguration([]);

        Assert.Equal("appsettings", builder.Configuration.GetSection(_variable)["A"]);
        var watched = builder.Configuration.Sources.OfType<FileConfigurationSource>().Where(s => s.ReloadOnChange).Select(s => s.Path).ToList();
        Assert.True(watched.Count == 0, $"configuration files watched for changes: {string.Join(", ", watched)}");
    }

    [Fact]
    public void CreateGatewayBuilder_AnExplicitReloadArgument_StillWins()
    {
        var builder = GatewayConfigurationExtensions.CreateGatewayBuilder(["--hostBuilder:reloadConfigOnChange=true"], _root);

        Assert.Contains(builder.Configuration.Sources.OfType<FileConfigurationSource>(), s => s.ReloadOnChange);
    }
}
