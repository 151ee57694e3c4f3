namespace AiGateway.Tokenizers.Tests;

public class ConformanceTests
{
    [Fact]
    public void Fixture_Loaded_HasSeveralHundredCases()
    {
        Assert.True(ConformanceFixture.Cases.Count >= 300, $"only {ConformanceFixture.Cases.Count} cases");
    }

    [Theory]
    [MemberData(nameof(ConformanceFixture.Names), MemberType = typeof(ConformanceFixture))]
    public void Encode_O200kOracleCase_MatchesTiktoken(string name)
    {
        var c = ConformanceFixture.Cases[name];
        Assert.Equal(c.O200k, TiktokenEncoding.O200kBase.Encode(c.Text));
    }

    [Theory]
    [MemberData(nameof(ConformanceFixture.Names), MemberType = typeof(ConformanceFixture))]
    public void Encode_Cl100kOracleCase_MatchesTiktoken(string name)
    {
        var c = ConformanceFixture.Cases[name];
        Assert.Equal(c.Cl100k, TiktokenEncoding.Cl100kBase.Encode(c.Text));
    }

    [Theory]
    [MemberData(nameof(ConformanceFixture.Names), MemberType = typeof(ConformanceFixture))]
    public void CountTokens_OracleCase_EqualsEncodeLength(string name)
    {
        var c = ConformanceFixture.Cases[name];
        Assert.Equal(c.O200k.Length, TiktokenEncoding.O200kBase.CountTokens(c.Text));
        Assert.Equal(c.Cl100k.Length, TiktokenEncoding.Cl100kBase.CountTokens(c.Text));
    }

    [Theory]
    [MemberData(nameof(ConformanceFixture.Names), MemberType = typeof(ConformanceFixture))]
    public void Decode_OracleIds_RoundTripsText(string name)
    {
        var c = ConformanceFixture.Cases[name];
        Assert.Equal(c.Text, TiktokenEncoding.O200kBase.Decode(c.O200k));
        Assert.Equal(c.Text, TiktokenEncoding.Cl100kBase.Decode(c.Cl100k));
    }
}
