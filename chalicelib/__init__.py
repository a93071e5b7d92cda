"""OpenFRS: a self-hostable service speaking the Huawei Cloud FRS v2 API."""
