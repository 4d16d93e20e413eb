// Package codegen stands in for github.com/pulumi/pulumi-dotnet/pulumi-language-dotnet/v3/codegen, the .NET SDK
// generator, which the Go proxy here serves at no version. pulumi-gen-kubernetes imports it for its `dotnet`
// command; e2e/toolchain/pulumi.sh runs only its `schema` command, which never calls it. Every call fails.
package codegen

import (
	"errors"

	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

var errNotBuilt = errors.New("the .NET SDK generator is not part of the mysql-cluster toolchain")

// LanguageResource has the fields pulumi-gen-kubernetes reads.
type LanguageResource struct {
	Name    string
	Package string
	Token   string
}

// LanguageResources fails: see the package comment.
func LanguageResources(string, *schema.Package) (map[string]LanguageResource, error) {
	return nil, errNotBuilt
}

// GeneratePackage fails: see the package comment.
func GeneratePackage(string, *schema.Package, map[string][]byte, map[string]string) (map[string][]byte, error) {
	return nil, errNotBuilt
}
